"""The node's working calendar, counting working days by lookup for reports.

A report evaluates the deadline of every case it reads, and the calendar
counts working days one day at a time: a case accepted months ago costs a
loop over every day since, for every case, on every call. This calendar
gives the same answers from a table of running counts — the working days
from its first day up to each day — so a count is a subtraction and the
n-th working day a binary search. The table is made from the node's own
calendar (`is_working_day`, overrides included), over the days asked
about, and grows when a day outside it is asked.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from datetime import date, timedelta

from caseledger.ledger.timelimits.calendar import WorkingCalendar

__all__ = ["IndexedCalendar"]

_DAY = timedelta(days=1)
_MARGIN = timedelta(days=366)
"""How far the table reaches past the days asked, so it seldom grows."""


class IndexedCalendar(WorkingCalendar):
    """`calendar`'s working days, counted from a table of running counts."""

    def __init__(self, calendar: WorkingCalendar) -> None:
        # The same days as `calendar`: its overrides and covered years.
        self.__dict__.update(vars(calendar))
        self._lock = threading.Lock()
        self._first = date.max
        self._counts: list[int] = []
        """_counts[i]: working days in [_first, _first + i]."""

    def _count(self, day: date) -> int:
        return self._counts[(day - self._first).days]

    def _cover(self, first: date, last: date) -> None:
        """Make the table cover `first`..`last` (with a margin)."""
        have_last = self._first + timedelta(days=len(self._counts) - 1)
        if self._counts and self._first <= first and last <= have_last:
            return
        # The first day moves only to reach an earlier day asked about.
        start = first - _MARGIN if first < self._first else self._first
        end = max(last, have_last if self._counts else last) + _MARGIN
        counts, running, day = [], 0, start
        while day <= end:
            running += self.is_working_day(day)
            counts.append(running)
            day += _DAY
        self._first, self._counts = start, counts

    def working_days_between(self, start: date, end: date) -> int:
        if end < start:
            return -self.working_days_between(end, start)
        try:
            with self._lock:
                self._cover(start, end)
                return self._count(end) - self._count(start)
        except OverflowError:  # the table cannot reach past year 9999
            return super().working_days_between(start, end)

    def add_working_days(self, start: date, n: int) -> date:
        if n < 0:
            raise ValueError(f"n must not be negative, got {n}")
        if n == 0:
            return start
        try:
            with self._lock:
                self._cover(start, start)
                while self._counts[-1] < self._count(start) + n:
                    last = self._first + timedelta(days=len(self._counts) - 1)
                    self._cover(start, last + _MARGIN)
                target = self._count(start) + n
                # Counts rise by one on each working day: the first day that
                # reaches the target is the n-th working day after `start`.
                return self._first + timedelta(days=bisect_left(self._counts, target))
        except OverflowError:
            return super().add_working_days(start, n)
