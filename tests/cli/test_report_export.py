"""`caseledger report export --format exchange` against a real node over mutual TLS."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

import psycopg
import pytest
import structlog
from click.testing import CliRunner, Result

from caseledger.nodes.config import NodeConfig
from caseledger.nodes.service.server import RunningNode, start
from caseledger.projections.postgres_store import READER_ROLE, drop_schema, grant_reader
from caseledger.v1 import ledger_pb2, ledger_pb2_grpc
from tests.nodes import requests as rq
from tests.pki import client_channel, secured
from tests.projections.stores import postgres_dsn
from tests.samples import LIXIA
from tests.timing import wait_for

TABLES = ("acceptance", "process", "special", "result", "material")


@dataclass
class Node:
    running: RunningNode
    numbers: list[str]

    def run(self, *args: str) -> Result:
        from caseledger.cli.main import cli

        return CliRunner().invoke(cli, ["--node", self.running.address, *args])

    def export(self, since: str, *args: str) -> Result:
        return self.run("report", "export", "--format", "exchange", "--since", since, *args)

    def caught_up(self) -> None:
        exchange = self.running.exchange
        assert exchange is not None
        wait_for(lambda: exchange.lag() == 0, "the exchange caught up")

    def accept(self, number: str) -> None:
        with client_channel(self.running.address) as channel:
            ledger_pb2_grpc.LedgerServiceStub(channel).Accept(
                ledger_pb2.AcceptRequest(meta=rq.meta(), case=number, notice_no="受2号")
            )
        self.caught_up()


@contextmanager
def _running(config: NodeConfig) -> Iterator[Node]:
    """A node of `config` with two cases submitted, the first accepted."""
    with structlog.testing.capture_logs():
        running = start(secured(config))
        try:
            with client_channel(running.address) as channel:
                stub = ledger_pb2_grpc.LedgerServiceStub(channel)
                stub.PublishItem(
                    ledger_pb2.PublishItemRequest(terms=rq.item_terms(), meta=rq.publisher())
                )
                numbers = [stub.Submit(rq.submit()).result.case_number for _ in range(2)]
                stub.Accept(
                    ledger_pb2.AcceptRequest(meta=rq.meta(), case=numbers[0], notice_no="受1号")
                )
            node = Node(running, numbers)
            node.caught_up()
            yield node
        finally:
            running.stop(grace=0)


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    """Lixia with two cases submitted, the first accepted."""
    with _running(
        NodeConfig(code=LIXIA, data_dir=tmp_path / "node", allow_client_time=True)
    ) as node:
        yield node


def _csv(folder: Path, table: str) -> list[dict[str, str]]:
    with (folder / f"{table}.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_a_first_export_writes_every_stage_table_and_prints_the_position(
    node: Node, tmp_path: Path
) -> None:
    out = tmp_path / "pull1"
    result = node.export("0", "--csv", "--out", str(out))
    assert result.exit_code == 0, result.output
    position = int(result.stdout.strip())
    assert position > 0
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{t}.csv" for t in TABLES)
    accepted = _csv(out, "acceptance")
    assert [(r["case_number"], r["notice_no"], r["operation"]) for r in accepted] == [
        (node.numbers[0], "受1号", "I")
    ]
    assert accepted[0]["applicant_name"] == "[sealed]"
    assert accepted[0]["applicant_id_number"] == "[sealed]"
    steps = _csv(out, "process")
    assert sorted((r["case_number"], r["action_label"]) for r in steps) == sorted(
        [(node.numbers[0], "收件"), (node.numbers[0], "受理"), (node.numbers[1], "收件")]
    )
    assert _csv(out, "special") == []
    assert _csv(out, "result") == []
    assert {r["case_number"] for r in _csv(out, "material")} == set(node.numbers)


def test_resuming_from_the_printed_position_gives_only_what_changed(
    node: Node, tmp_path: Path
) -> None:
    first = node.export("0", "--jsonl", "--out", str(tmp_path / "a"))
    position = first.stdout.strip()
    node.accept(node.numbers[1])
    second = node.export(position, "--jsonl", "--out", str(tmp_path / "b"))
    assert second.exit_code == 0, second.output
    rows = {
        table: [
            json.loads(line)
            for line in (tmp_path / "b" / f"{table}.jsonl").read_text("utf-8").splitlines()
        ]
        for table in TABLES
    }
    assert [(r["case_number"], r["operation"]) for r in rows["acceptance"]] == [
        (node.numbers[1], "I")
    ]
    assert rows["acceptance"][0]["promised_days"] == 10
    assert [(r["case_number"], r["action_label"]) for r in rows["process"]] == [
        (node.numbers[1], "受理")
    ]
    assert rows["material"] == rows["special"] == rows["result"] == []
    assert int(second.stdout) > int(position)
    # Nothing changed since: the next pull is empty and resumes where it was.
    third = node.export(second.stdout.strip(), "--jsonl")
    assert third.exit_code == 0, third.output
    assert third.stdout == ""
    assert f"0 rows; resume with --since {second.stdout.strip()}" in third.stderr


def test_rows_stream_to_stdout_as_json_lines_or_one_tables_csv(node: Node) -> None:
    lines = [json.loads(line) for line in node.export("0").stdout.splitlines()]
    assert {line["table"] for line in lines} == {"acceptance", "process", "material"}
    table = list(
        csv.DictReader(node.export("0", "--csv", "--table", "material").stdout.splitlines())
    )
    assert sorted(r["case_number"] for r in table) == sorted(node.numbers)
    refused = node.export("0", "--csv")
    assert refused.exit_code == 2
    assert "CSV on stdout takes one --table" in refused.output


@pytest.mark.parametrize("since", ["abc", "-1", "1.5", ""])
def test_a_malformed_since_is_a_usage_error_naming_the_option(node: Node, since: str) -> None:
    result = node.export(since)
    assert result.exit_code == 2
    assert "--since" in result.output
    assert "is not a position: give the number an earlier export printed" in result.output


def test_a_since_past_the_nodes_last_batch_is_invalid_input_and_writes_nothing(
    node: Node, tmp_path: Path
) -> None:
    out = tmp_path / "never"
    result = node.export("999999", "--out", str(out))
    assert result.exit_code == 4, result.output
    assert "after" in result.output
    assert "past this node's last exchange batch" in result.output
    assert not out.exists()


def test_an_unknown_table_and_a_division_outside_the_subtree_are_refused(node: Node) -> None:
    unknown = node.export("0", "--table", "cases")
    assert unknown.exit_code == 2
    assert "'cases' is not one of" in unknown.output
    outside = node.export("0", "--division", rq.JINAN)
    assert outside.exit_code == 11
    assert f"{rq.JINAN} is not in the subtree of node {LIXIA}" in outside.output


@pytest.mark.postgres
def test_a_node_with_postgresql_views_exports_and_resumes_from_its_exchange_schema(
    tmp_path: Path,
) -> None:
    dsn, prefix = postgres_dsn(), f"t{uuid4().hex[:12]}"
    config = NodeConfig(
        code=LIXIA,
        data_dir=tmp_path / "node",
        allow_client_time=True,
        views_dsn=dsn,
        views_schema_prefix=prefix,
    )
    views, exchange = f"{prefix}_views_{LIXIA}", f"{prefix}_exchange_{LIXIA}"
    grant_reader(dsn)  # the operator's reader role (`views-reader`), made before the node
    try:
        with _running(config) as node:
            first = node.export("0", "--jsonl", "--out", str(tmp_path / "a"))
            assert first.exit_code == 0, first.output
            position = first.stdout.strip()
            node.accept(node.numbers[1])
            second = node.export(position, "--jsonl", "--out", str(tmp_path / "b"))
            assert second.exit_code == 0, second.output
            accepted = [
                json.loads(line)
                for line in (tmp_path / "b" / "acceptance.jsonl").read_text("utf-8").splitlines()
            ]
            assert [(r["case_number"], r["operation"]) for r in accepted] == [
                (node.numbers[1], "I")
            ]
            assert not (tmp_path / "node" / f"{LIXIA}.exchange.sqlite").exists()
            # The same rows as tables of the exchange's schema, which the reader role may read.
            with psycopg.connect(dsn) as connection:
                rows = connection.execute(
                    "SELECT case_number, notice_no, sync_batch "
                    f'FROM "{exchange}".exchange_acceptance ORDER BY sync_batch'
                ).fetchall()
                assert [(n, notice) for n, notice, _ in rows] == [
                    (node.numbers[0], "受1号"),
                    (node.numbers[1], "受2号"),
                ]
                assert rows[-1][2] == int(second.stdout)
                readable = connection.execute(
                    "SELECT has_table_privilege(%s, %s, 'SELECT')",
                    (READER_ROLE, f'"{exchange}".exchange_process'),
                ).fetchone()
                assert readable == (True,)
    finally:
        drop_schema(dsn, views)
        drop_schema(dsn, exchange)
