"""A clerk finds cases without knowing their number: `case search` by the applicant's
identity number, `case list` from the node's views, `catalogue list` of the items;
`subject erase` says how many cases it touched."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from caseledger.ledger.codes.identifiers import citizen_id_check_char
from caseledger.nodes.service.server import RunningNode
from tests.cli.clerk import APPLICATION, published, running_node, submitted
from tests.cli.test_cli_end_to_end import Operator
from tests.cli.test_report_commands import _caught_up
from tests.samples import CITIZEN_ID, FOOD_LICENCE
from tests.timing import wait_for

OTHER_CITIZEN = "37010219851111002" + citizen_id_check_char("37010219851111002")


@pytest.fixture
def node(tmp_path: Path) -> Iterator[RunningNode]:
    yield from running_node(tmp_path / "node")


def search(run: Operator, id_number: str = CITIZEN_ID, *extra: str) -> list[str]:
    found = run.json(
        "case", "search", "--applicant-type", "natural-person", "--id-number", id_number, *extra
    )
    return [case["case_number"] for case in found["cases"]]


def test_search_finds_the_applicants_cases_newest_first(node: RunningNode, tmp_path: Path) -> None:
    run = Operator(node.address)
    published(run, tmp_path)
    first = submitted(run)
    second = submitted(run, f"食品经营许可申请书={APPLICATION}")
    assert search(run) == [second, first]
    assert search(run, OTHER_CITIZEN) == []
    table = run.ok(
        "case", "search", "--applicant-type", "natural-person", "--id-number", CITIZEN_ID
    ).stdout
    assert first in table
    assert "张*" in table
    assert "2 cases" in table


def test_search_says_when_more_cases_matched_than_shown(node: RunningNode, tmp_path: Path) -> None:
    run = Operator(node.address)
    published(run, tmp_path)
    submitted(run)
    newest = submitted(run)
    assert search(run, CITIZEN_ID, "--limit", "1") == [newest]
    shown = run.ok(
        "case", "search", "--applicant-type", "natural-person", "--id-number", CITIZEN_ID,
        "--limit", "1",
    ).stdout  # fmt: skip
    assert "more than 1" in shown


def test_a_malformed_identity_number_is_named_by_the_node(node: RunningNode) -> None:
    run = Operator(node.address)
    wrong = CITIZEN_ID[:-1] + ("0" if CITIZEN_ID[-1] != "0" else "1")
    result = run("case", "search", "--applicant-type", "natural-person", "--id-number", wrong)
    assert result.exit_code == 4
    assert result.stderr.splitlines()[0] == "invalid input:"
    assert any(line.startswith("  id_number: ") for line in result.stderr.splitlines())


def test_list_filters_the_views_by_status_and_item(node: RunningNode, tmp_path: Path) -> None:
    run = Operator(node.address)
    published(run, tmp_path)
    accepted = submitted(run)
    waiting = submitted(run)
    run.ok("case", "accept", accepted, "--notice-no", "历下受字〔2026〕001号")
    wait_for(lambda: _caught_up(node.address), "the views caught up")

    def listed(*filters: str) -> list[str]:
        document = run.json("case", "list", "--item", FOOD_LICENCE, *filters)
        return sorted(case["case_number"] for case in document["cases"])

    assert listed() == sorted([accepted, waiting])
    assert listed("--status", "accepted") == [accepted]
    assert listed("--status", "submitted") == [waiting]
    assert waiting in run.ok("case", "list").stdout
    assert listed("--channel", "window") == sorted([accepted, waiting])
    assert listed("--channel", "online") == []
    assert listed("--owner", node.config.code) == sorted([accepted, waiting])
    assert listed("--owner", "370103000000") == []
    assert run.json("case", "list", "--limit", "1")["more"] is True


def test_list_refuses_an_owner_that_is_no_division_code(node: RunningNode) -> None:
    result = Operator(node.address)("case", "list", "--owner", "3701")
    assert result.exit_code == 2
    assert "not a 12-digit division code" in result.stderr


def test_catalogue_list_shows_codes_names_limits_and_materials(
    node: RunningNode, tmp_path: Path
) -> None:
    run = Operator(node.address)
    published(run, tmp_path)
    items = run.json("catalogue", "list")
    assert [item["implementation_code"] for item in items] == [FOOD_LICENCE]
    assert items[0]["required_materials"] == ["食品经营许可申请书", "营业执照复印件"]
    table = run.ok("catalogue", "list").stdout
    assert FOOD_LICENCE in table
    assert "承诺" in table
    assert "营业执照复印件" in table
    assert "1 items" in table


def test_erasing_a_subject_says_how_many_cases_it_touched(
    node: RunningNode, tmp_path: Path
) -> None:
    run = Operator(node.address)
    published(run, tmp_path)
    submitted(run)
    submitted(run)
    result = run.ok(
        "subject", "erase", "--applicant-type", "natural-person", "--id-number", CITIZEN_ID,
        "--reason", "依申请删除个人信息", "--yes", "--json", role="data_protection_officer",
    )  # fmt: skip
    assert json.loads(result.stdout)["cases"] == 2
