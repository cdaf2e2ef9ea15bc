"""`caseledger case show`: a provisional deadline is marked as such, for people and in JSON."""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner, Result

from caseledger.cli.main import cli
from caseledger.v1 import ledger_pb2, types_pb2
from tests.cli.fakes import CASE_ID, CASE_NUMBER, FakeLedger


def deadline(*, provisional_year: int) -> ledger_pb2.Deadline:
    return ledger_pb2.Deadline(
        status=types_pb2.DEADLINE_STATUS_ON_TIME,
        working_days_used=1,
        promised_due="2027-01-05",
        statutory_due="2027-01-12",
        days_remaining=24,
        provisional=provisional_year != 0,
        provisional_year=provisional_year,
    )


def shown(found: ledger_pb2.Deadline, *args: str) -> Result:
    view = ledger_pb2.CaseView(
        case_id=CASE_ID,
        case_number=CASE_NUMBER,
        status=types_pb2.CASE_STATUS_IN_PROCESS,
        deadline=found,
    )
    ledger = FakeLedger(answers={"GetCase": ledger_pb2.GetCaseResponse(case=view)})
    result = CliRunner().invoke(cli, ["case", "show", CASE_NUMBER, *args], obj=ledger.connect)
    assert result.exit_code == 0, result.output
    return result


def test_show_marks_a_provisional_deadline_and_its_due_dates() -> None:
    output = shown(deadline(provisional_year=2027)).output
    assert "暂定 provisional: 2027 counted with the statutory holidays by rule" in output
    assert "2027-01-05 (provisional)" in output
    assert "2027-01-12 (provisional)" in output


def test_show_leaves_a_final_deadline_unmarked() -> None:
    output = shown(deadline(provisional_year=0)).output
    assert "2027-01-05" in output
    assert "provisional" not in output


def test_show_json_carries_the_provisional_mark_and_year() -> None:
    document: dict[str, Any] = json.loads(shown(deadline(provisional_year=2027), "--json").output)
    assert document["deadline"]["provisional"] is True
    assert document["deadline"]["provisional_year"] == 2027


def test_show_json_says_a_final_deadline_is_not_provisional() -> None:
    document: dict[str, Any] = json.loads(shown(deadline(provisional_year=0), "--json").output)
    assert document["deadline"]["provisional"] is False
    assert document["deadline"]["provisional_year"] == 0
