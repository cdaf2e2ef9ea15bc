"""Time passes without events: a case nobody touches becomes due, overdue, red.

One case, accepted on Monday 2026-04-20 with a promised limit of 10 and a
statutory limit of 20 working days, and never touched again. Its state is
asked for on later days, across a weekend, the Labour Day holiday (1-5 May
2026) and the make-up working Saturday after it (9 May), with the default
thresholds: 预警 with 3 working days or fewer left, 黄牌 past the promised
limit, 红牌 more than 5 working days past it. Working days after the 20th:
21-24 and 27-30 April are 1-8, 6-9 May are 9-12, 11-15 May are 13-17.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from caseledger.ledger.case.aggregate import Case
from caseledger.ledger.case.events import CaseEvent
from caseledger.ledger.codes.vocabulary import CaseType
from caseledger.ledger.timelimits.calendar import WorkingCalendar
from caseledger.ledger.timelimits.deadlines import DeadlineStatus, TimeLimits
from caseledger.projections.reports import Reports
from tests.ledger.case.case_paths import on, submit
from tests.projections.histories import case_mapper
from tests.projections.stores import project_all
from tests.samples import LIXIA, Clock

ACCEPTED_ON = date(2026, 4, 20)


@pytest.fixture(scope="module")
def reports() -> Reports:
    clock = Clock(datetime(2026, 4, 20, 1, 0, tzinfo=UTC))  # 09:00 in Beijing
    case: Case = submit(clock)
    case.accept(on(clock, ACCEPTED_ON), "历受〔2026〕9号", CaseType.PROMISED, TimeLimits(20, 10))
    events = [e for e in case.collect_events() if isinstance(e, CaseEvent)]
    return Reports(project_all(LIXIA, events, case_mapper()), LIXIA, WorkingCalendar())


@pytest.mark.parametrize(
    ("day", "used", "status"),
    [
        (date(2026, 4, 20), 0, DeadlineStatus.ON_TIME),
        (date(2026, 4, 26), 4, DeadlineStatus.ON_TIME),  # Sunday: the weekend does not count
        (date(2026, 4, 28), 6, DeadlineStatus.ON_TIME),
        (date(2026, 4, 29), 7, DeadlineStatus.WARNING),  # 3 left
        (date(2026, 4, 30), 8, DeadlineStatus.WARNING),
        (date(2026, 5, 5), 8, DeadlineStatus.WARNING),  # five holidays later, still 8
        (date(2026, 5, 7), 10, DeadlineStatus.WARNING),  # due today
        (date(2026, 5, 8), 11, DeadlineStatus.YELLOW),
        (date(2026, 5, 9), 12, DeadlineStatus.YELLOW),  # the make-up Saturday counts
        (date(2026, 5, 10), 12, DeadlineStatus.YELLOW),
        (date(2026, 5, 13), 15, DeadlineStatus.YELLOW),  # 5 past: not yet red
        (date(2026, 5, 14), 16, DeadlineStatus.RED),
    ],
)
def test_an_untouched_case_moves_through_the_cards_as_working_days_pass(
    reports: Reports, day: date, used: int, status: DeadlineStatus
) -> None:
    (state,) = reports.cases(as_of=day).cases
    assert state.assessment is not None
    assert state.assessment.working_days_used == used
    assert state.status is status
    assert state.assessment.promised_due == date(2026, 5, 7)


def test_supervision_lists_it_only_once_it_is_flagged(reports: Reports) -> None:
    assert [
        s.status for s in reports.overdue(date(2026, 4, 28)) if s.status.value != "on_time"
    ] == []
    (warned,) = reports.overdue(date(2026, 5, 5))
    assert warned.status is DeadlineStatus.WARNING
    (red,) = reports.overdue(date(2026, 5, 14))
    assert red.status is DeadlineStatus.RED
    assert red.assessment is not None
    assert red.assessment.overdue_days == 6


def test_asking_again_about_an_earlier_day_reads_as_it_did(reports: Reports) -> None:
    # Nothing is stored evaluated: a later question leaves no trace on an earlier day.
    reports.cases(as_of=date(2026, 5, 14))
    (state,) = reports.cases(as_of=date(2026, 4, 28)).cases
    assert state.status is DeadlineStatus.ON_TIME
