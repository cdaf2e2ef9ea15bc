"""`caseledger report` and `caseledger projection` against a real node over mutual TLS."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import structlog
from click.testing import CliRunner, Result

from caseledger.nodes.config import NodeConfig
from caseledger.nodes.service.server import RunningNode, start
from caseledger.v1 import ledger_pb2, ledger_pb2_grpc, report_pb2, report_pb2_grpc
from tests.nodes import requests as rq
from tests.pki import client_channel, secured
from tests.samples import LIXIA
from tests.timing import wait_for


@dataclass
class Node:
    running: RunningNode
    numbers: list[str]

    def run(self, *args: str) -> Result:
        from caseledger.cli.main import cli

        return CliRunner().invoke(cli, ["--node", self.running.address, *args])

    def ok(self, *args: str) -> str:
        result = self.run(*args)
        assert result.exit_code == 0, (args, result.output)
        return result.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json"))


def _caught_up(address: str) -> bool:
    with client_channel(address) as channel:
        status = report_pb2_grpc.ReportServiceStub(channel).GetProjectionStatus(
            report_pb2.GetProjectionStatusRequest()
        )
    return all(p.lag == 0 for p in status.positions)


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    """Lixia with three cases of March 2026: one accepted then (long overdue since),
    two only submitted."""
    with structlog.testing.capture_logs():
        running = start(
            secured(NodeConfig(code=LIXIA, data_dir=tmp_path / "node", allow_client_time=True))
        )
        try:
            with client_channel(running.address) as channel:
                stub = ledger_pb2_grpc.LedgerServiceStub(channel)
                stub.PublishItem(
                    ledger_pb2.PublishItemRequest(terms=rq.item_terms(), meta=rq.publisher())
                )
                numbers = [stub.Submit(rq.submit()).result.case_number for _ in range(3)]
                stub.Accept(
                    ledger_pb2.AcceptRequest(meta=rq.meta(), case=numbers[0], notice_no="受1号")
                )
            wait_for(lambda: _caught_up(running.address), "the views caught up")
            yield Node(running, numbers)
        finally:
            running.stop(grace=0)


def test_report_cases_lists_every_held_case_as_a_table_json_and_csv(node: Node) -> None:
    table = node.ok("report", "cases")
    for number in node.numbers:
        assert number in table
    assert "3 cases" in table
    listed = node.json("report", "cases")
    assert sorted(case["case_number"] for case in listed["cases"]) == sorted(node.numbers)
    rows = list(csv.DictReader(io.StringIO(node.ok("report", "cases", "--csv"))))
    assert sorted(row["case_number"] for row in rows) == sorted(node.numbers)
    assert {row["status"] for row in rows} == {"已受理", "已收件"}


def test_report_cases_filters_by_status_and_pages_through_everything(node: Node) -> None:
    accepted = node.json("report", "cases", "--status", "accepted")
    assert [case["case_number"] for case in accepted["cases"]] == [node.numbers[0]]
    paged = node.json("report", "cases", "--page-size", "1")
    assert sorted(case["case_number"] for case in paged["cases"]) == sorted(node.numbers)
    first = node.json("report", "cases", "--page-size", "1", "--pages", "1")
    assert len(first["cases"]) == 1


def test_report_overdue_red_cards_the_case_accepted_in_march(node: Node) -> None:
    flagged = node.json("report", "overdue")
    assert flagged["cases"][0]["case_number"] == node.numbers[0]
    assert flagged["cases"][0]["deadline"]["status"] == "DEADLINE_STATUS_RED"
    # The same case read as of the day after its acceptance was on time.
    early = node.json("report", "overdue", "--as-of", "2026-03-03")
    assert node.numbers[0] not in [case["case_number"] for case in early["cases"]]
    assert "红牌" in node.ok("report", "overdue")


def test_report_stats_shows_each_level_from_the_nodes_down_adding_up(node: Node) -> None:
    out = node.ok("report", "stats", "--from", "2026-03-01", "--to", "2026-03-31")
    assert "县区 county" in out
    assert "乡镇街道 township" in out
    assert "✓ 县区 county: 1 rows add up to the subtree's figures" in out
    figures = node.json("report", "stats", "--from", "2026-03-01", "--to", "2026-03-31")
    assert figures["subtree"]["total"]["submitted"] == 3
    assert figures["subtree"]["total"]["accepted"] == 1
    assert set(figures["levels"]) == {"county", "township"}
    county = figures["levels"]["county"]["rows"]
    assert [(row["division"], row["figures"]["submitted"]) for row in county] == [(LIXIA, 3)]


def test_report_ratings_of_a_period_without_ratings_is_empty(node: Node) -> None:
    rated = node.json("report", "ratings", "--from", "2026-03-01", "--to", "2026-03-31")
    assert rated["cases"] == []
    assert rated["figures"]["bad_ratings"] == 0


def test_a_division_outside_the_subtree_is_refused_with_the_nodes_reason(node: Node) -> None:
    result = node.run("report", "cases", "--division", rq.JINAN)
    assert result.exit_code != 0
    assert f"{rq.JINAN} is not in the subtree of node {LIXIA}" in result.output


def test_projection_status_shows_position_and_lag_per_upstream(node: Node) -> None:
    out = node.ok("projection", "status")
    assert "authored" in out
    assert "received" in out
    assert "follower: running" in out
    status = node.json("projection", "status")
    head = node.running.ledger.recorder.max_notification_id()
    authored = next(p for p in status["positions"] if p["upstream"] == "authored")
    assert (authored["position"], authored["head"], authored["lag"]) == (head, head, 0)


def test_projection_rebuild_replaces_the_views_with_equal_ones_while_serving(node: Node) -> None:
    views = node.running.views
    assert views is not None
    before = node.json("report", "cases")
    out = node.ok("projection", "rebuild")
    assert "views rebuilt from" in out
    assert node.json("report", "cases") == before
    assert views.follower is not None
    assert views.follower.running
    # The rebuilt views follow on: a new case reaches them.
    with client_channel(node.running.address) as channel:
        number = ledger_pb2_grpc.LedgerServiceStub(channel).Submit(rq.submit()).result.case_number
    wait_for(lambda: _caught_up(node.running.address), "the rebuilt views caught up")
    listed = node.json("report", "cases")
    assert number in [case["case_number"] for case in listed["cases"]]
