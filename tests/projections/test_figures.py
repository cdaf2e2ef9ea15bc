"""Statistics and supervision steps on small, hand-counted histories."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from caseledger.ledger.case.events import CaseEvent
from caseledger.ledger.codes.division import Level
from caseledger.ledger.timelimits.calendar import WorkingCalendar
from caseledger.ledger.timelimits.deadlines import DeadlineStatus
from caseledger.projections.facts import fold_all
from caseledger.projections.reports import OutsideJurisdiction, Reports
from caseledger.projections.statistics import Figures, Period, Scope, node_figures
from caseledger.projections.supervision import StepOverdue, SupervisionRules, case_deadline
from tests.projections.histories import PATHS, START, case_mapper, simulate_case
from tests.projections.stores import project_all

COUNTY = "370102000000"
CALENDAR = WorkingCalendar()
RULES = SupervisionRules()
WHOLE = Period(START.date(), START.date() + timedelta(days=120))


def _case(path: str, serial: int = 1) -> list[CaseEvent]:
    return simulate_case(random.Random(serial), [COUNTY], START, serial, path)


def _figures(*paths: str) -> Figures:
    rows = [
        fold_all(str(events[0].originator_id), events)
        for events in (_case(p, n) for n, p in enumerate(paths, start=1))
    ]
    scope = Scope(WHOLE, WHOLE.last, CALENDAR, RULES)
    return node_figures(rows, lambda code: code == COUNTY, scope)


def test_counts_and_rates_of_a_hand_counted_day() -> None:
    f = _figures("approved_window", "late_conclusion", "refused", "immediate", "accepted_open")
    assert f.submitted == 5
    assert (f.accepted, f.refused) == (4, 1)
    assert f.concluded == 3
    assert f.concluded_by_result == {"1": 3}
    # approved_window: 5 working days; immediate: 0; late_conclusion: over 10.
    assert (f.concluded_on_time, f.concluded_late) == (2, 1)
    assert f.on_time_rate == pytest.approx(2 / 3)
    assert f.immediate_share == pytest.approx(1 / 4)
    assert f.compression_rate == pytest.approx((10 * 3 + 0) / (20 * 3 + 0))
    assert f.backlog == 1
    assert f.ratings == {"1": 2}
    assert f.rectification_rate is None


def test_a_bad_rating_rectified_within_the_deadline_counts_as_rectified_in_time() -> None:
    f = _figures("online_corrected_bad_rating")
    assert f.bad_ratings == 1
    assert f.ratings == {"4": 1}
    assert f.rectified_in_time == 1
    assert f.rectification_rate == 1.0
    assert f.submitted_online == 1
    # Mailed, never at a window: the whole process ran online.
    assert f.fully_online == 1


def test_a_rectification_later_than_configured_is_overdue_and_not_in_time() -> None:
    events = _case("online_corrected_bad_rating")
    facts = fold_all(str(events[0].originator_id), events)
    strict = SupervisionRules(rectification_days=1)  # the path rectifies after 3
    state = case_deadline(facts, WHOLE.last, CALENDAR, strict)
    assert StepOverdue.RECTIFICATION in state.steps_overdue
    assert case_deadline(facts, WHOLE.last, CALENDAR, RULES).steps_overdue == ()


def test_an_approval_whose_certificate_is_not_delivered_in_10_working_days_is_a_step_overdue() -> (
    None
):
    events = [e for e in _case("approved_window") if e.stage not in {"CollectedAtWindow", "Rated"}]
    facts = fold_all(str(events[0].originator_id), events)
    decided = date.fromisoformat(facts.concluded_at[:10])
    in_time = CALENDAR.add_working_days(decided, 10)
    assert case_deadline(facts, in_time, CALENDAR, RULES).steps_overdue == ()
    late = case_deadline(facts, in_time + timedelta(days=1), CALENDAR, RULES)
    assert late.steps_overdue == (StepOverdue.CERTIFICATE,)
    assert late.status is DeadlineStatus.CONCLUDED_ON_TIME
    assert late.flagged


def test_reports_answer_only_for_the_node_subtree() -> None:
    views = project_all(COUNTY, _case("accepted_open"), case_mapper())
    reports = Reports(views, COUNTY, CALENDAR)
    with pytest.raises(OutsideJurisdiction):
        reports.stats(WHOLE, WHOLE.last, division="370103000000")
    with pytest.raises(OutsideJurisdiction):
        reports.overdue(WHOLE.last, division="370100000000")
    assert reports.stats(WHOLE, WHOLE.last, division="370102001000")[0].figures == Figures()


def test_pages_of_cases_hold_each_case_once_and_the_deadline_filter_applies() -> None:
    events = [e for n, p in enumerate(sorted(PATHS), start=1) for e in _case(p, n)]
    views = project_all(COUNTY, events, case_mapper())
    reports = Reports(views, COUNTY, CALENDAR)
    seen: list[str] = []
    token = ""
    while True:
        page = reports.cases(as_of=WHOLE.last, page_size=2, page_token=token)
        seen.extend(s.facts.case_id for s in page.cases)
        token = page.next_page_token
        if not token:
            break
    assert sorted(seen) == sorted({str(e.originator_id) for e in events})
    red = reports.cases(as_of=WHOLE.last, deadline=DeadlineStatus.RED).cases
    assert red
    assert all(s.status is DeadlineStatus.RED for s in red)
    by_county = reports.stats(WHOLE, WHOLE.last, level=Level.COUNTY)
    assert [(r.division, r.own) for r in by_county] == [(COUNTY, False)]
