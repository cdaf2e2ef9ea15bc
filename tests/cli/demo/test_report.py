"""The demo's tables say what their numbers are: days used and left or over, stages in Chinese."""

from __future__ import annotations

from caseledger.cli.demo.report import deadline_cell
from caseledger.cli.vocabulary import stage_label
from caseledger.v1 import ledger_pb2
from caseledger.v1 import types_pb2 as t


def test_a_running_deadline_says_days_used_and_left() -> None:
    cell = deadline_cell(
        ledger_pb2.Deadline(
            status=t.DEADLINE_STATUS_ON_TIME,
            working_days_used=3,
            promised_due="2026-03-16",
            days_remaining=7,
        )
    )
    assert cell == "正常: 已用 3 工作日 used, 剩余 7 left"


def test_an_overdue_deadline_says_days_over() -> None:
    cell = deadline_cell(
        ledger_pb2.Deadline(
            status=t.DEADLINE_STATUS_RED,
            working_days_used=30,
            promised_due="2026-03-16",
            days_remaining=-20,
        )
    )
    assert cell == "红牌: 已用 30 工作日 used, 超期 20 over"


def test_a_concluded_deadline_says_days_used_only() -> None:
    cell = deadline_cell(
        ledger_pb2.Deadline(
            status=t.DEADLINE_STATUS_CONCLUDED_ON_TIME,
            working_days_used=8,
            promised_due="2026-03-16",
            days_remaining=2,
        )
    )
    assert cell == "按时办结: 已用 8 工作日 used"


def test_a_case_not_yet_accepted_has_no_clock() -> None:
    not_started = ledger_pb2.Deadline(status=t.DEADLINE_STATUS_NOT_STARTED)
    assert deadline_cell(not_started) == "未起算 not started"


def test_every_stage_has_its_chinese_name_beside_the_english() -> None:
    assert stage_label("Accepted") == "受理 Accepted"
    assert stage_label("DeliveryConfirmed") == "签收 DeliveryConfirmed"
    assert stage_label("SomethingNewer") == "SomethingNewer"
