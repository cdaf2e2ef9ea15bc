"""The reports' calendar counts working days exactly as the node's calendar does."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from caseledger.ledger.timelimits.calendar import WorkingCalendar
from caseledger.projections.day_index import IndexedCalendar

DAYS = st.dates(min_value=date(2015, 1, 1), max_value=date(2032, 12, 31))
# An operator's overrides: a Saturday made a working day, a Monday a rest day.
OVERRIDES = {date(2026, 3, 7): True, date(2026, 3, 9): False}
PLAIN = (WorkingCalendar(), WorkingCalendar(OVERRIDES))
SHARED = tuple(IndexedCalendar(calendar) for calendar in PLAIN)
"""Kept across examples, so their tables grow both ways as days are asked."""


@settings(max_examples=300, deadline=None)
@given(start=DAYS, end=DAYS, n=st.integers(min_value=0, max_value=400))
def test_counts_and_nth_working_days_equal_the_calendars(start: date, end: date, n: int) -> None:
    for plain, shared in zip(PLAIN, SHARED, strict=True):
        for indexed in (IndexedCalendar(plain), shared):
            between = plain.working_days_between(start, end)
            assert indexed.working_days_between(start, end) == between
            assert indexed.add_working_days(start, n) == plain.add_working_days(start, n)
            assert indexed.is_working_day(start) == plain.is_working_day(start)


def test_the_table_grows_for_days_far_outside_it() -> None:
    plain = WorkingCalendar()
    indexed = IndexedCalendar(plain)
    assert indexed.working_days_between(date(2026, 3, 2), date(2026, 3, 9)) == 5
    far = date(2026, 3, 2) - timedelta(days=3000)
    assert indexed.working_days_between(far, date(2026, 3, 2)) == plain.working_days_between(
        far, date(2026, 3, 2)
    )
    assert indexed.add_working_days(far, 3650) == plain.add_working_days(far, 3650)
