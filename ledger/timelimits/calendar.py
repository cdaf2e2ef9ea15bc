"""The working-day calendar (工作日历) that every time limit is counted in.

All statutory periods are working days (Administrative Licensing Law,
Art. 82): official holidays (法定节假日) are excluded and make-up workdays
(调休上班日) are included, even when they fall on a weekend.

Where a day's kind comes from, first match wins:

1. the operator's override file (below);
2. the State Council's yearly arrangement (国务院办公厅放假安排), as tabled by
   the `chinesecalendar` package for the years it knows;
3. for any other year, the holidays that 全国年节及纪念日放假办法 fixes by
   law (元旦, 春节, 清明节, 劳动节, 端午节, 中秋节, 国庆节), computed for any
   year by the `holidays` package, and weekends.

A year is *covered* when the package tables it or the override file lists at
least one of its days: the official arrangement is then loaded. In a covered
year the package has no table for, the days the file does not list count
Monday to Friday less the holidays fixed by law; so list the whole notice:
its rest days and its make-up workdays.

A year nobody covers (2027 with chinesecalendar 1.11.0) is counted *by rule*:
the holidays fixed by law plus, when one falls on a weekend, the weekday the
law gives in its place (补假), as the `holidays` package computes them; no
make-up workdays, because only the notice can say which weekends they are.
The real arrangement usually moves days around, so every count that touches
such a year is *provisional* (`first_provisional_year`) until the notice is
loaded. 2027-01-01 (元旦) is a rest day either way.

Override file (UTF-8 JSON): one object whose keys are ISO dates and whose
values say what the day is::

    {
      "2027-01-01": "holiday",
      "2027-02-07": "workday"
    }

`"holiday"` (or `"休"`) makes the day a rest day, `"workday"` (or `"班"`) a
working day; an override always wins.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import holidays

_ONE_DAY = timedelta(days=1)

# Read once: the package's own lookup raises outside its years, while the
# tables let the other years stay a plain set test.
_OFFICIAL_REST_DAYS: frozenset[date] = frozenset(chinese_calendar.holidays)
_OFFICIAL_MAKE_UP_WORKDAYS: frozenset[date] = frozenset(chinese_calendar.workdays)
_OFFICIAL_YEARS: frozenset[int] = frozenset(
    range(
        min(d.year for d in _OFFICIAL_REST_DAYS),
        max(d.year for d in _OFFICIAL_REST_DAYS) + 1,
    )
)

_DAY_KINDS: Mapping[str, bool] = {
    "workday": True,
    "班": True,
    "holiday": False,
    "休": False,
}


@functools.cache
def statutory_holidays(year: int) -> frozenset[date]:
    """The days 全国年节及纪念日放假办法 gives off in `year`, without any 补假."""
    return frozenset(holidays.country_holidays("CN", years=year, observed=False))


@functools.cache
def rule_rest_days(year: int) -> frozenset[date]:
    """The statutory holidays of `year` and the weekdays given for those on a weekend."""
    return frozenset(holidays.country_holidays("CN", years=year))


class WorkingCalendar:
    """China's official working days, with operator overrides.

    `overrides` maps a day to True (working day) or False (rest day).
    """

    def __init__(self, overrides: Mapping[date, bool] | None = None) -> None:
        self._overrides: dict[date, bool] = dict(overrides or {})
        self._covered_years = _OFFICIAL_YEARS | {d.year for d in self._overrides}

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> WorkingCalendar:
        """The official calendar with the overrides in the JSON file at `path`."""
        return cls(load_overrides(path))

    @property
    def covered_years(self) -> frozenset[int]:
        """Years with an official table or at least one override."""
        return self._covered_years

    def covers(self, year: int) -> bool:
        return year in self._covered_years

    def first_provisional_year(self, start: date, end: date) -> int | None:
        """The first year of the days in (start, end] that is counted by rule, if any.

        Those are exactly the days `working_days_between(start, end)` and an
        `add_working_days(start, n)` that reaches `end` look at.
        """
        if end <= start:
            return None
        first = (start + _ONE_DAY).year
        return next((y for y in range(first, end.year + 1) if y not in self._covered_years), None)

    def is_working_day(self, day: date) -> bool:
        override = self._overrides.get(day)
        if override is not None:
            return override
        if day.year in _OFFICIAL_YEARS:
            if day in _OFFICIAL_MAKE_UP_WORKDAYS:
                return True
            return day.weekday() < 5 and day not in _OFFICIAL_REST_DAYS
        if day.weekday() >= 5:
            return False
        if day.year in self._covered_years:
            return day not in statutory_holidays(day.year)
        return day not in rule_rest_days(day.year)

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after `start`; `start` itself never counts (Art. 82).

        `n == 0` gives `start` unchanged, which is how a same-day limit
        (即办件) is expressed.
        """
        if n < 0:
            raise ValueError(f"n must not be negative, got {n}")
        day = start
        while n > 0:
            day += _ONE_DAY
            if self.is_working_day(day):
                n -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; negated when `end` is before `start`.

        Inverse of `add_working_days`: for n >= 0,
        `working_days_between(s, add_working_days(s, n)) == n`.
        """
        if end < start:
            return -self.working_days_between(end, start)
        count = 0
        day = start + _ONE_DAY
        while day <= end:
            if self.is_working_day(day):
                count += 1
            day += _ONE_DAY
        return count

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        return self.add_working_days(day, 1)


def load_overrides(path: str | os.PathLike[str]) -> dict[date, bool]:
    """Read an override file (format in the module docstring)."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        return parse_overrides(text)
    except ValueError as error:
        raise ValueError(f"{os.fspath(path)}: {error}") from error


def parse_overrides(text: str) -> dict[date, bool]:
    """Parse the JSON text of an override file; ValueError names the bad entry."""
    match json.loads(text):
        case dict() as document:
            entries = document.items()
        case _:
            raise ValueError("expected a JSON object of ISO date -> 'holiday' | 'workday'")
    overrides: dict[date, bool] = {}
    for key, value in entries:
        try:
            day = date.fromisoformat(key)
        except ValueError:
            raise ValueError(f"{key!r} is not an ISO date (YYYY-MM-DD)") from None
        if not isinstance(value, str) or value not in _DAY_KINDS:
            raise ValueError(f"{key}: {value!r} is not one of {', '.join(_DAY_KINDS)}")
        overrides[day] = _DAY_KINDS[value]
    return overrides
