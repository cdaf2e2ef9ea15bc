"""WorkingCalendar against the official 2026 tables of chinesecalendar 1.11.0,
and 2027, which that version does not table, counted by rule (`holidays`).

2026 Spring Festival: rest Sun 02-15 .. Mon 02-23, make-up workdays Sat 02-14
and Sat 02-28. Mid-Autumn: rest Fri 09-25 .. Sun 09-27. National Day: rest
Thu 10-01 .. Wed 10-07, make-up workdays Sun 09-20 and Sat 10-10.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caseledger.ledger.timelimits.calendar import WorkingCalendar, parse_overrides

OFFICIAL = WorkingCalendar()


def write_overrides(tmp_path: Path, content: object) -> Path:
    path = tmp_path / "calendar.json"
    path.write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")
    return path


def test_a_make_up_saturday_is_a_working_day() -> None:
    assert OFFICIAL.is_working_day(date(2026, 2, 14))
    assert OFFICIAL.is_working_day(date(2026, 10, 10))


def test_a_make_up_sunday_is_a_working_day() -> None:
    assert OFFICIAL.is_working_day(date(2026, 9, 20))


def test_a_weekday_inside_a_holiday_is_a_rest_day() -> None:
    assert not OFFICIAL.is_working_day(date(2026, 2, 16))
    assert not OFFICIAL.is_working_day(date(2026, 10, 7))


def test_an_ordinary_weekend_is_a_rest_day() -> None:
    assert not OFFICIAL.is_working_day(date(2026, 3, 7))
    assert not OFFICIAL.is_working_day(date(2026, 3, 8))


def test_counting_starts_the_day_after_and_includes_a_make_up_saturday() -> None:
    # Fri 02-13; 1st = Sat 02-14 (make-up); 02-15..02-23 rest; 2nd = Tue 02-24.
    assert OFFICIAL.add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert OFFICIAL.add_working_days(date(2026, 2, 13), 2) == date(2026, 2, 24)


def test_adding_across_national_day_lands_on_the_make_up_saturday() -> None:
    # Wed 09-30; 10-01..10-07 rest; 1st Thu 10-08, 2nd Fri 10-09, 3rd Sat 10-10.
    assert OFFICIAL.add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)


def test_adding_zero_days_keeps_the_start_even_on_a_rest_day() -> None:
    assert OFFICIAL.add_working_days(date(2026, 2, 16), 0) == date(2026, 2, 16)


def test_adding_negative_days_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        OFFICIAL.add_working_days(date(2026, 2, 13), -1)


def test_working_days_between_excludes_start_and_includes_end() -> None:
    # (Fri 02-13, Sat 02-28]: Sat 02-14, Tue 24, Wed 25, Thu 26, Fri 27, Sat 28.
    assert OFFICIAL.working_days_between(date(2026, 2, 13), date(2026, 2, 28)) == 6


def test_working_days_between_is_negative_when_end_precedes_start() -> None:
    assert OFFICIAL.working_days_between(date(2026, 2, 28), date(2026, 2, 13)) == -6


def test_working_days_between_a_day_and_itself_is_zero() -> None:
    assert OFFICIAL.working_days_between(date(2026, 2, 13), date(2026, 2, 13)) == 0


def test_next_working_day_skips_the_whole_national_day_holiday() -> None:
    assert OFFICIAL.next_working_day(date(2026, 9, 30)) == date(2026, 10, 8)


def test_next_working_day_is_strictly_after_a_working_day() -> None:
    assert OFFICIAL.next_working_day(date(2026, 10, 8)) == date(2026, 10, 9)


def test_covered_years_are_those_of_the_package() -> None:
    assert OFFICIAL.covers(2004)
    assert OFFICIAL.covers(2026)
    assert not OFFICIAL.covers(2027)
    assert OFFICIAL.covered_years == frozenset(range(2004, 2027))


def test_new_years_day_2027_is_a_rest_day_without_an_official_table() -> None:
    # Fri 2027-01-01 is 元旦 by law even though chinesecalendar has no 2027.
    assert not OFFICIAL.is_working_day(date(2027, 1, 1))
    # Thu 2026-12-31; Fri 01-01 rest, Sat, Sun; 1st = Mon 01-04, 2nd = Tue 01-05.
    assert OFFICIAL.add_working_days(date(2026, 12, 31), 2) == date(2027, 1, 5)


def test_an_uncovered_year_counts_the_statutory_holidays_and_their_weekday_stand_ins() -> None:
    # 2027 Spring Festival by law: eve Fri 02-05, 初一..初三 Sat 02-06 .. Mon 02-08;
    # the two falling on the weekend are given back on Tue 02-09 and Wed 02-10.
    for day in (5, 8, 9, 10):
        assert not OFFICIAL.is_working_day(date(2027, 2, day))
    assert OFFICIAL.is_working_day(date(2027, 2, 11))
    # National Day Fri 10-01 .. Sun 10-03, the weekend two given back Mon 10-04, Tue 10-05.
    assert not OFFICIAL.is_working_day(date(2027, 10, 5))
    assert OFFICIAL.is_working_day(date(2027, 10, 6))


def test_an_uncovered_year_has_no_make_up_workdays() -> None:
    # Only the State Council's notice can make a weekend a working day.
    assert not OFFICIAL.is_working_day(date(2027, 2, 20))
    assert not OFFICIAL.is_working_day(date(2027, 9, 26))


@given(st.integers(min_value=2027, max_value=2100))
def test_new_years_day_is_never_a_working_day_in_a_year_counted_by_rule(year: int) -> None:
    assert not OFFICIAL.covers(year)
    assert not OFFICIAL.is_working_day(date(year, 1, 1))


def test_an_uncovered_year_is_provisional_where_a_count_reaches_it() -> None:
    assert OFFICIAL.first_provisional_year(date(2026, 12, 1), date(2026, 12, 31)) is None
    assert OFFICIAL.first_provisional_year(date(2026, 12, 31), date(2027, 1, 1)) == 2027
    assert OFFICIAL.first_provisional_year(date(2026, 6, 1), date(2028, 3, 1)) == 2027


def test_the_first_day_of_a_count_is_not_looked_at() -> None:
    # (start, end]: a count from 2027-01-01 to itself looks at no day at all.
    assert OFFICIAL.first_provisional_year(date(2027, 1, 1), date(2027, 1, 1)) is None
    assert OFFICIAL.first_provisional_year(date(2027, 1, 5), date(2027, 1, 4)) is None


def test_a_year_the_override_file_covers_is_not_provisional(tmp_path: Path) -> None:
    calendar = WorkingCalendar.from_file(write_overrides(tmp_path, {"2027-02-20": "workday"}))
    assert calendar.first_provisional_year(date(2026, 12, 31), date(2027, 12, 31)) is None
    assert calendar.first_provisional_year(date(2026, 12, 31), date(2028, 1, 3)) == 2028


def test_a_year_the_file_covers_keeps_the_holidays_fixed_by_law(tmp_path: Path) -> None:
    # The file lists only a make-up Saturday; 元旦 and 春节 are still rest days.
    calendar = WorkingCalendar.from_file(write_overrides(tmp_path, {"2027-02-20": "workday"}))
    assert calendar.is_working_day(date(2027, 2, 20))
    assert not calendar.is_working_day(date(2027, 1, 1))
    assert not calendar.is_working_day(date(2027, 2, 8))


def test_a_year_the_file_covers_takes_the_weekday_stand_ins_from_the_file(
    tmp_path: Path,
) -> None:
    # With the notice loaded, which weekday replaces a weekend holiday is the notice's word.
    calendar = WorkingCalendar.from_file(
        write_overrides(tmp_path, {"2027-02-11": "holiday", "2027-02-20": "workday"})
    )
    assert calendar.is_working_day(date(2027, 2, 9))
    assert not calendar.is_working_day(date(2027, 2, 11))


def test_an_override_file_adds_a_year(tmp_path: Path) -> None:
    path = write_overrides(tmp_path, {"2027-01-01": "holiday", "2027-02-20": "workday"})
    calendar = WorkingCalendar.from_file(path)
    assert calendar.covers(2027)
    assert not calendar.is_working_day(date(2027, 1, 1))
    assert calendar.is_working_day(date(2027, 2, 20))  # a Saturday
    # Thu 2026-12-31; Fri 01-01 rest; Sat, Sun; 1st = Mon 01-04.
    assert calendar.next_working_day(date(2026, 12, 31)) == date(2027, 1, 4)


def test_an_override_wins_over_the_official_table(tmp_path: Path) -> None:
    path = write_overrides(tmp_path, {"2026-02-13": "holiday", "2026-02-14": "holiday"})
    calendar = WorkingCalendar.from_file(path)
    assert not calendar.is_working_day(date(2026, 2, 13))
    # Thu 02-12; Fri 13 and Sat 14 overridden to rest; 02-15..23 official rest.
    assert calendar.next_working_day(date(2026, 2, 12)) == date(2026, 2, 24)


def test_an_override_only_changes_its_own_calendar(tmp_path: Path) -> None:
    WorkingCalendar.from_file(write_overrides(tmp_path, {"2026-02-13": "holiday"}))
    assert OFFICIAL.is_working_day(date(2026, 2, 13))


def test_overrides_accept_the_chinese_labels() -> None:
    assert parse_overrides('{"2027-01-01": "休", "2027-02-20": "班"}') == {
        date(2027, 1, 1): False,
        date(2027, 2, 20): True,
    }


def test_overrides_can_be_passed_directly() -> None:
    calendar = WorkingCalendar({date(2026, 3, 7): True})
    assert calendar.is_working_day(date(2026, 3, 7))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (["2027-01-01"], "JSON object"),
        ({"01/01/2027": "holiday"}, "not an ISO date"),
        ({"2027-01-01": "off"}, "is not one of"),
        ({"2027-01-01": True}, "is not one of"),
    ],
)
def test_a_malformed_override_file_is_refused_naming_the_file(
    tmp_path: Path, content: object, message: str
) -> None:
    path = write_overrides(tmp_path, content)
    with pytest.raises(ValueError, match=message) as raised:
        WorkingCalendar.from_file(path)
    assert str(path) in str(raised.value)


def test_an_override_file_that_is_not_json_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "calendar.json"
    path.write_text("2027-01-01 holiday", encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(str(path))):
        WorkingCalendar.from_file(path)


days_around_2026 = st.dates(min_value=date(2025, 6, 1), max_value=date(2027, 6, 30))
calendars = st.builds(
    WorkingCalendar,
    st.dictionaries(days_around_2026, st.booleans(), max_size=20),
)


@given(calendars, days_around_2026, st.integers(min_value=0, max_value=80))
def test_working_days_between_inverts_add_working_days(
    calendar: WorkingCalendar, start: date, n: int
) -> None:
    assert calendar.working_days_between(start, calendar.add_working_days(start, n)) == n


@given(calendars, days_around_2026, st.integers(min_value=1, max_value=80))
def test_adding_working_days_lands_on_a_working_day(
    calendar: WorkingCalendar, start: date, n: int
) -> None:
    assert calendar.is_working_day(calendar.add_working_days(start, n))


@given(calendars, days_around_2026, st.integers(min_value=0, max_value=120))
def test_adding_the_days_between_reaches_the_last_working_day_by_the_end(
    calendar: WorkingCalendar, start: date, span: int
) -> None:
    end = start + timedelta(days=span)
    reached = calendar.add_working_days(start, calendar.working_days_between(start, end))
    assert reached <= end
    # Nothing after `reached` up to `end` is a working day.
    assert calendar.working_days_between(reached, end) == 0


@given(calendars, days_around_2026, days_around_2026)
def test_working_days_between_is_antisymmetric(
    calendar: WorkingCalendar, first: date, second: date
) -> None:
    assert calendar.working_days_between(first, second) == -calendar.working_days_between(
        second, first
    )
