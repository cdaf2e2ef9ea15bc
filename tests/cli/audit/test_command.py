"""`audit replay`: a readable timeline, a verdict line, and the exit code auditors script on."""

from __future__ import annotations

import json

from click.testing import CliRunner, Result

from caseledger.cli.audit.command import CHAIN_BROKEN
from caseledger.cli.main import cli
from caseledger.v1 import ledger_pb2
from tests.cli.fakes import CASE_NUMBER, FakeLedger, good_trail


def replay(trail: ledger_pb2.ListCaseEventsResponse, *args: str) -> Result:
    ledger = FakeLedger(answers={"ListCaseEvents": trail})
    return CliRunner().invoke(cli, ["audit", "replay", CASE_NUMBER, *args], obj=ledger.connect)


def test_a_verified_trail_exits_0_with_a_timeline_in_beijing_time() -> None:
    result = replay(good_trail())
    assert result.exit_code == 0, result.output
    # The first event happened at 01:01 UTC.
    assert "2026-03-02 09:01:00" in result.output
    assert "op-1/window_clerk" in result.output
    assert result.output.count("✓") >= 5
    assert "✓ 5 events of case 370102260302000001 verified" in result.output


def test_the_timeline_names_each_stage_in_chinese_beside_its_event_type() -> None:
    result = CliRunner().invoke(
        cli,
        ["audit", "replay", CASE_NUMBER],
        obj=FakeLedger(answers={"ListCaseEvents": good_trail()}).connect,
        terminal_width=200,
    )
    assert result.exit_code == 0, result.output
    assert "申报/收件 Submitted" in result.output
    assert "受理 Accepted" in result.output
    report = json.loads(replay(good_trail(), "--json").output)
    assert report["events"][0]["stage"] == "Submitted"
    assert report["events"][0]["stage_label"] == "申报/收件 Submitted"


def test_a_broken_trail_exits_3_naming_the_first_broken_event() -> None:
    trail = good_trail()
    trail.events[2].hashed_form = trail.events[2].hashed_form.replace(b"op-1", b"op-2")
    result = replay(trail)
    assert result.exit_code == CHAIN_BROKEN == 3
    broken = "✗ chain broken at event 3 (办理环节 StepRecorded): hash is not the SHA-256"
    assert broken in result.output


def test_the_json_report_gives_each_event_its_result() -> None:
    trail = good_trail()
    del trail.events[3]
    result = replay(trail, "--json")
    assert result.exit_code == 3
    report = json.loads(result.output)
    assert report["verified"] is False
    assert report["first_break"]["position"] == 4
    assert [event["ok"] for event in report["events"]] == [True, True, True, False]
    assert "missing" in report["events"][3]["problems"][0]


def test_the_json_report_of_a_good_trail_says_verified() -> None:
    report = json.loads(replay(good_trail(), "--json").output)
    assert report["verified"] is True
    assert report["first_break"] is None
    assert report["events_checked"] == 5
