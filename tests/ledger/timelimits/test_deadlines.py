"""Deadline assessment on the official 2026 calendar (chinesecalendar 1.11.0).

Working days used below, counted from the day after each date:

Spring Festival: Fri 02-13 is a working day; Sat 02-14 is a make-up workday;
Sun 02-15 .. Mon 02-23 rest; Sat 02-28 is a make-up workday. From acceptance
on Fri 02-13 the working days are numbered
  1 Sat 02-14 | 2 Tue 02-24 | 3 Wed 02-25 | 4 Thu 02-26 | 5 Fri 02-27 |
  6 Sat 02-28 | 7 Mon 03-02 | 8 03-03 | 9 03-04 | 10 03-05 | 11 03-06 |
  12 Mon 03-09 | ... | 16 Fri 03-13 | 17 Mon 03-16 | ... | 20 Thu 03-19 |
  21 Fri 03-20 | 22 Mon 03-23 | ... | 26 Fri 03-27 | 27 Mon 03-30 |
  28 03-31 | 29 04-01 | 30 Thu 04-02

Mid-Autumn and National Day: Fri 09-25 .. Sun 09-27 rest; Thu 10-01 .. Wed
10-07 rest; Sat 10-10 is a make-up workday. From acceptance on Thu 09-24
  1 Mon 09-28 | 2 Tue 09-29 | 3 Wed 09-30 | 4 Thu 10-08 | 5 Fri 10-09 |
  6 Sat 10-10 | 7 Mon 10-12 | 8 10-13 | 9 10-14 | 10 Thu 10-15
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from caseledger.ledger.errors import InvalidInput
from caseledger.ledger.timelimits.calendar import WorkingCalendar
from caseledger.ledger.timelimits.deadlines import (
    ClockMark,
    ClockMarkKind,
    DeadlineStatus,
    Due,
    Supervision,
    TimeLimits,
    assess,
    correction_notice_deadline,
    issue_deadline,
)

OFFICIAL = WorkingCalendar()
STARTED = ClockMarkKind.STARTED
STOPPED = ClockMarkKind.STOPPED
RESUMED = ClockMarkKind.RESUMED
EXTENDED = ClockMarkKind.EXTENDED
CONCLUDED = ClockMarkKind.CONCLUDED

SPRING_ACCEPTED = ClockMark(STARTED, date(2026, 2, 13), "受理")
AUTUMN_ACCEPTED = ClockMark(STARTED, date(2026, 9, 24), "受理")
FIVE_OF_TWENTY = TimeLimits(statutory_days=20, promised_days=5)
TEN_OF_TWENTY = TimeLimits(statutory_days=20, promised_days=10)


def test_due_dates_across_the_spring_festival() -> None:
    result = assess(OFFICIAL, FIVE_OF_TWENTY, [SPRING_ACCEPTED], date(2026, 2, 13))
    # 5th working day Fri 02-27; 20th Thu 03-19 (table in the module docstring).
    assert result.promised_due == date(2026, 2, 27)
    assert result.statutory_due == date(2026, 3, 19)
    assert result.working_days_used == 0
    assert result.days_remaining == 5
    assert result.statutory_days_remaining == 20


def test_the_acceptance_day_itself_is_not_counted() -> None:
    result = assess(OFFICIAL, FIVE_OF_TWENTY, [SPRING_ACCEPTED], date(2026, 2, 13))
    assert result.working_days_used == 0


def test_a_make_up_saturday_counts_and_the_holiday_does_not() -> None:
    # As of Fri 02-20, inside the holiday: only Sat 02-14 has counted.
    result = assess(OFFICIAL, FIVE_OF_TWENTY, [SPRING_ACCEPTED], date(2026, 2, 20))
    assert result.working_days_used == 1
    assert result.days_remaining == 4
    assert result.status is DeadlineStatus.ON_TIME


def test_warning_when_three_working_days_remain() -> None:
    # As of Tue 02-24: 2 used, 3 of 5 left.
    result = assess(OFFICIAL, FIVE_OF_TWENTY, [SPRING_ACCEPTED], date(2026, 2, 24))
    assert result.days_remaining == 3
    assert result.status is DeadlineStatus.WARNING


def test_warning_on_the_due_day() -> None:
    result = assess(OFFICIAL, FIVE_OF_TWENTY, [SPRING_ACCEPTED], date(2026, 2, 27))
    assert result.days_remaining == 0
    assert result.status is DeadlineStatus.WARNING


def test_yellow_the_day_after_the_promised_limit() -> None:
    # Sat 02-28 is a make-up workday: the 6th day, one past the promise.
    result = assess(OFFICIAL, FIVE_OF_TWENTY, [SPRING_ACCEPTED], date(2026, 2, 28))
    assert result.working_days_used == 6
    assert result.overdue_days == 1
    assert result.status is DeadlineStatus.YELLOW


def test_still_yellow_when_five_days_overdue() -> None:
    # Thu 03-05 is the 10th working day: 5 past the promise of 5.
    result = assess(OFFICIAL, FIVE_OF_TWENTY, [SPRING_ACCEPTED], date(2026, 3, 5))
    assert result.overdue_days == 5
    assert result.status is DeadlineStatus.YELLOW


def test_red_when_more_than_five_days_overdue() -> None:
    # Fri 03-06 is the 11th working day: 6 past the promise.
    result = assess(OFFICIAL, FIVE_OF_TWENTY, [SPRING_ACCEPTED], date(2026, 3, 6))
    assert result.overdue_days == 6
    assert result.status is DeadlineStatus.RED


def test_red_past_the_statutory_limit_without_the_overdue_rule() -> None:
    rules = Supervision(warn_within_days=3, red_after_overdue_days=None)
    on_statutory_due = assess(OFFICIAL, FIVE_OF_TWENTY, [SPRING_ACCEPTED], date(2026, 3, 19), rules)
    past_statutory_due = assess(
        OFFICIAL, FIVE_OF_TWENTY, [SPRING_ACCEPTED], date(2026, 3, 20), rules
    )
    assert on_statutory_due.status is DeadlineStatus.YELLOW
    assert past_statutory_due.statutory_days_remaining == -1
    assert past_statutory_due.status is DeadlineStatus.RED


def test_the_warning_window_is_configurable() -> None:
    # As of Wed 02-25: 3 used, 2 of 5 left.
    as_of = date(2026, 2, 25)
    quiet = Supervision(warn_within_days=1)
    assert assess(OFFICIAL, FIVE_OF_TWENTY, [SPRING_ACCEPTED], as_of, quiet).status is (
        DeadlineStatus.ON_TIME
    )
    assert assess(OFFICIAL, FIVE_OF_TWENTY, [SPRING_ACCEPTED], as_of).status is (
        DeadlineStatus.WARNING
    )


def test_a_correction_stops_the_clock_until_the_day_after_the_materials_arrive() -> None:
    marks = [
        ClockMark(STARTED, date(2026, 2, 11), "受理"),
        # Thu 02-12 counts (1): the clock ran until the request that day.
        ClockMark(STOPPED, date(2026, 2, 12), "补齐补正"),
        # Materials arrive Wed 02-25, which does not count; the 13th, 14th and
        # 24th are lost. Restart: 2 Thu 02-26, 3 Fri 02-27, 4 Sat 02-28 (make-up),
        # 5 Mon 03-02.
        ClockMark(RESUMED, date(2026, 2, 25), "补正材料"),
    ]
    result = assess(OFFICIAL, FIVE_OF_TWENTY, marks, date(2026, 2, 26))
    assert result.working_days_used == 2
    assert result.promised_due == date(2026, 3, 2)
    assert not result.stopped


def test_while_stopped_the_due_date_is_projected_from_today() -> None:
    marks = [
        AUTUMN_ACCEPTED,
        ClockMark(STOPPED, date(2026, 9, 29), "挂起"),  # 2 used (09-28, 09-29)
    ]
    result = assess(OFFICIAL, TEN_OF_TWENTY, marks, date(2026, 10, 8))
    # 8 left, counted from Fri 10-09: 10-09, Sat 10-10, 10-12 .. 10-16, Mon 10-19.
    assert result.stopped
    assert result.working_days_used == 2
    assert result.promised_due == date(2026, 10, 19)
    assert result.status is DeadlineStatus.ON_TIME


def test_a_suspension_across_national_day_moves_the_due_date() -> None:
    marks = [
        AUTUMN_ACCEPTED,
        ClockMark(STOPPED, date(2026, 9, 29), "挂起"),
        ClockMark(RESUMED, date(2026, 10, 9), "恢复"),
    ]
    result = assess(OFFICIAL, TEN_OF_TWENTY, marks, date(2026, 10, 9))
    # Without the stop due Thu 10-15. Lost: 09-30, 10-08, 10-09. Restart:
    # 3 Sat 10-10, 4 10-12, 5 10-13, 6 10-14, 7 10-15, 8 10-16, 9 Mon 10-19,
    # 10 Tue 10-20.
    assert result.promised_due == date(2026, 10, 20)
    assert result.working_days_used == 2
    assert not result.stopped


def test_a_stop_and_resume_on_the_same_day_lose_nothing() -> None:
    marks = [
        AUTUMN_ACCEPTED,
        ClockMark(STOPPED, date(2026, 9, 29), "挂起"),
        ClockMark(RESUMED, date(2026, 9, 29), "恢复"),
    ]
    result = assess(OFFICIAL, TEN_OF_TWENTY, marks, date(2026, 10, 8))
    assert result.promised_due == date(2026, 10, 15)
    assert result.working_days_used == 4


def test_overlapping_stops_keep_the_clock_stopped_until_both_end() -> None:
    marks = [
        AUTUMN_ACCEPTED,
        # Up to Mon 10-12 inclusive: 7 used.
        ClockMark(STOPPED, date(2026, 10, 12), "特别程序: 专家评审"),
        ClockMark(STOPPED, date(2026, 10, 14), "挂起"),
        ClockMark(RESUMED, date(2026, 10, 16), "特别程序结束"),
        ClockMark(RESUMED, date(2026, 10, 20), "恢复"),
    ]
    still_suspended = assess(OFFICIAL, TEN_OF_TWENTY, marks, date(2026, 10, 19))
    assert still_suspended.stopped
    assert still_suspended.working_days_used == 7
    # Restart after Tue 10-20: 8 Wed 10-21, 9 Thu 10-22, 10 Fri 10-23.
    running = assess(OFFICIAL, TEN_OF_TWENTY, marks, date(2026, 10, 23))
    assert not running.stopped
    assert running.working_days_used == 10
    assert running.promised_due == date(2026, 10, 23)
    assert running.status is DeadlineStatus.WARNING


def test_going_overdue_before_a_stop_stays_overdue_while_stopped() -> None:
    marks = [
        SPRING_ACCEPTED,
        ClockMark(STOPPED, date(2026, 3, 2), "特别程序: 检测"),  # 7 used
    ]
    result = assess(OFFICIAL, FIVE_OF_TWENTY, marks, date(2026, 3, 20))
    assert result.stopped
    assert result.working_days_used == 7
    assert result.promised_due == date(2026, 2, 27)
    assert result.status is DeadlineStatus.YELLOW


def test_an_extension_adds_to_both_limits() -> None:
    marks = [SPRING_ACCEPTED, ClockMark(EXTENDED, date(2026, 3, 4), "延期", days=10)]
    result = assess(OFFICIAL, TEN_OF_TWENTY, marks, date(2026, 3, 5))
    # Promise 10 -> 20: Thu 03-19; statute 20 -> 30: Thu 04-02.
    assert result.extended_by == 10
    assert result.promised_due == date(2026, 3, 19)
    assert result.statutory_due == date(2026, 4, 2)
    # As of Thu 03-05: 10 used, 10 of 20 left.
    assert result.days_remaining == 10
    assert result.status is DeadlineStatus.ON_TIME


def test_an_extension_counts_only_from_its_date() -> None:
    marks = [SPRING_ACCEPTED, ClockMark(EXTENDED, date(2026, 3, 4), "延期", days=10)]
    result = assess(OFFICIAL, TEN_OF_TWENTY, marks, date(2026, 3, 3))
    assert result.extended_by == 0
    assert result.promised_due == date(2026, 3, 5)


def test_a_second_extension_is_refused() -> None:
    marks = [
        SPRING_ACCEPTED,
        ClockMark(EXTENDED, date(2026, 3, 4), "延期", days=10),
        ClockMark(EXTENDED, date(2026, 3, 6), "延期", days=10),
    ]
    with pytest.raises(ValueError, match="already extended"):
        assess(OFFICIAL, TEN_OF_TWENTY, marks, date(2026, 3, 5))


def test_an_immediate_case_is_due_on_the_day_of_acceptance() -> None:
    limits = TimeLimits(statutory_days=0, promised_days=0)
    result = assess(OFFICIAL, limits, [SPRING_ACCEPTED], date(2026, 2, 13))
    assert result.promised_due == date(2026, 2, 13)
    assert result.statutory_due == date(2026, 2, 13)
    assert result.status is DeadlineStatus.WARNING


def test_an_immediate_case_concluded_the_same_day_is_on_time() -> None:
    limits = TimeLimits(statutory_days=0, promised_days=0)
    marks = [SPRING_ACCEPTED, ClockMark(CONCLUDED, date(2026, 2, 13), "办结")]
    result = assess(OFFICIAL, limits, marks, date(2026, 2, 20))
    assert result.status is DeadlineStatus.CONCLUDED_ON_TIME


def test_an_immediate_case_open_on_the_next_working_day_is_red() -> None:
    limits = TimeLimits(statutory_days=0, promised_days=0)
    result = assess(OFFICIAL, limits, [SPRING_ACCEPTED], date(2026, 2, 14))
    assert result.working_days_used == 1
    assert result.status is DeadlineStatus.RED


def test_concluding_on_the_due_day_is_on_time() -> None:
    marks = [SPRING_ACCEPTED, ClockMark(CONCLUDED, date(2026, 2, 27), "办结")]
    result = assess(OFFICIAL, FIVE_OF_TWENTY, marks, date(2026, 6, 1))
    assert result.working_days_used == 5
    assert result.status is DeadlineStatus.CONCLUDED_ON_TIME


def test_concluding_after_the_promised_limit_is_late() -> None:
    # Sat 02-28 is a make-up workday, the 6th.
    marks = [SPRING_ACCEPTED, ClockMark(CONCLUDED, date(2026, 2, 28), "办结")]
    result = assess(OFFICIAL, FIVE_OF_TWENTY, marks, date(2026, 6, 1))
    assert result.working_days_used == 6
    assert result.status is DeadlineStatus.CONCLUDED_LATE


def test_concluding_while_stopped_counts_nothing_after_the_stop() -> None:
    marks = [
        AUTUMN_ACCEPTED,
        ClockMark(STOPPED, date(2026, 9, 29), "补齐补正"),
        ClockMark(CONCLUDED, date(2026, 11, 30), "补正不来"),
    ]
    result = assess(OFFICIAL, TEN_OF_TWENTY, marks, date(2026, 12, 1))
    assert result.working_days_used == 2
    assert not result.stopped
    assert result.status is DeadlineStatus.CONCLUDED_ON_TIME


def test_no_marks_means_not_started() -> None:
    result = assess(OFFICIAL, TEN_OF_TWENTY, [], date(2026, 2, 13))
    assert result.status is DeadlineStatus.NOT_STARTED
    assert result.promised_due is None
    assert result.statutory_due is None
    assert result.days_remaining == 10


def test_marks_after_as_of_are_ignored() -> None:
    marks = [
        AUTUMN_ACCEPTED,
        ClockMark(STOPPED, date(2026, 9, 29), "挂起"),
        ClockMark(RESUMED, date(2026, 10, 9), "恢复"),
    ]
    before_acceptance = assess(OFFICIAL, TEN_OF_TWENTY, marks, date(2026, 9, 23))
    before_the_stop = assess(OFFICIAL, TEN_OF_TWENTY, marks, date(2026, 9, 28))
    assert before_acceptance.status is DeadlineStatus.NOT_STARTED
    assert not before_the_stop.stopped
    assert before_the_stop.promised_due == date(2026, 10, 15)


def test_a_deadline_into_2027_skips_new_years_day_and_is_provisional() -> None:
    marks = [ClockMark(STARTED, date(2026, 12, 31), "受理")]
    result = assess(OFFICIAL, FIVE_OF_TWENTY, marks, date(2026, 12, 31))
    # Fri 2027-01-01 is 元旦 by rule: Mon 1/4 .. Fri 1/8.
    assert result.promised_due == date(2027, 1, 8)
    assert result.provisional
    assert result.provisional_year == 2027


def test_a_deadline_inside_2026_is_not_provisional() -> None:
    result = assess(OFFICIAL, TEN_OF_TWENTY, [SPRING_ACCEPTED], date(2026, 3, 2))
    assert not result.provisional
    assert result.provisional_year is None


def test_a_statutory_due_date_in_2027_makes_the_deadline_provisional() -> None:
    # Promised 5 ends Tue 12-08 in 2026; statutory 30 reaches into January.
    marks = [ClockMark(STARTED, date(2026, 12, 1), "受理")]
    result = assess(OFFICIAL, TimeLimits(30, 5), marks, date(2026, 12, 2))
    assert result.promised_due == date(2026, 12, 8)
    assert result.statutory_due is not None
    assert result.statutory_due.year == 2027
    assert result.provisional_year == 2027


def test_an_overdue_clock_counting_into_2027_is_provisional() -> None:
    marks = [ClockMark(STARTED, date(2026, 12, 1), "受理")]
    result = assess(OFFICIAL, FIVE_OF_TWENTY, marks, date(2027, 1, 5))
    assert result.statutory_due == date(2026, 12, 29)
    assert result.provisional_year == 2027


def test_a_stopped_clock_projected_into_2027_is_provisional() -> None:
    marks = [
        ClockMark(STARTED, date(2026, 12, 1), "受理"),
        ClockMark(STOPPED, date(2026, 12, 2), "补齐补正"),
    ]
    result = assess(OFFICIAL, FIVE_OF_TWENTY, marks, date(2026, 12, 30))
    # 1 day used (12-02); 4 left from Wed 12-30: Thu 12-31, Mon 1/4, 1/5, Wed 1/6.
    assert result.promised_due == date(2027, 1, 6)
    assert result.provisional_year == 2027


def test_a_case_concluded_in_2026_stays_final_when_looked_at_in_2027() -> None:
    marks = [
        ClockMark(STARTED, date(2026, 12, 1), "受理"),
        ClockMark(CONCLUDED, date(2026, 12, 4), "办结"),
    ]
    result = assess(OFFICIAL, FIVE_OF_TWENTY, marks, date(2027, 3, 1))
    assert result.status is DeadlineStatus.CONCLUDED_ON_TIME
    assert not result.provisional


def test_an_override_file_moves_the_due_date(tmp_path: Path) -> None:
    path = tmp_path / "calendar.json"
    path.write_text(json.dumps({"2027-01-04": "holiday"}), encoding="utf-8")
    calendar = WorkingCalendar.from_file(path)
    marks = [ClockMark(STARTED, date(2026, 12, 31), "受理")]
    result = assess(calendar, FIVE_OF_TWENTY, marks, date(2026, 12, 31))
    # 1/1 by law and 1/4 by the file are rest days: Tue 1/5 .. Mon 1/11.
    assert result.promised_due == date(2027, 1, 11)
    # The file covers 2027: the official arrangement is loaded.
    assert not result.provisional


def test_issue_deadline_is_ten_working_days_after_the_decision() -> None:
    # Wed 09-30: 10-08, 10-09, Sat 10-10, 10-12 .. 10-16, 10-19, Tue 10-20.
    assert issue_deadline(OFFICIAL, date(2026, 9, 30)) == Due(date(2026, 10, 20), None)


def test_an_issue_deadline_reaching_2027_is_provisional() -> None:
    # Fri 12-25: 12-28 .. 12-31 (4), 1/1 元旦, 1/4 .. 1/8 (9), Mon 1/11.
    due = issue_deadline(OFFICIAL, date(2026, 12, 25))
    assert due == Due(date(2027, 1, 11), 2027)
    assert due.provisional


def test_correction_notice_deadline_is_five_working_days_after_receipt() -> None:
    # Fri 02-13: Sat 02-14, 02-24, 02-25, 02-26, Fri 02-27.
    due = correction_notice_deadline(OFFICIAL, date(2026, 2, 13))
    assert due == Due(date(2026, 2, 27), None)
    assert not due.provisional


@pytest.mark.parametrize(
    ("marks", "message"),
    [
        ([ClockMark(STOPPED, date(2026, 2, 12))], "has not started"),
        ([SPRING_ACCEPTED, SPRING_ACCEPTED], "already started"),
        ([SPRING_ACCEPTED, ClockMark(RESUMED, date(2026, 2, 24))], "no stop is open"),
        (
            [
                SPRING_ACCEPTED,
                ClockMark(CONCLUDED, date(2026, 2, 24)),
                ClockMark(STOPPED, date(2026, 2, 25)),
            ],
            "follows CONCLUDED",
        ),
        (
            [SPRING_ACCEPTED, ClockMark(STOPPED, date(2026, 2, 12))],
            "dated before",
        ),
    ],
)
def test_a_malformed_timeline_is_refused(marks: list[ClockMark], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        assess(OFFICIAL, TEN_OF_TWENTY, marks, date(2026, 3, 1))


def test_an_extension_needs_days() -> None:
    with pytest.raises(ValueError, match="positive"):
        ClockMark(EXTENDED, date(2026, 3, 4), "延期")


def test_only_an_extension_carries_days() -> None:
    with pytest.raises(ValueError, match="only an extension"):
        ClockMark(STOPPED, date(2026, 3, 4), "挂起", days=3)


def test_a_promise_beyond_the_statutory_limit_is_invalid() -> None:
    with pytest.raises(InvalidInput) as raised:
        TimeLimits(statutory_days=20, promised_days=21)
    assert [v.field for v in raised.value.violations] == ["promised_days"]


def test_negative_limits_are_invalid() -> None:
    with pytest.raises(InvalidInput) as raised:
        TimeLimits(statutory_days=-1, promised_days=-1)
    assert [v.field for v in raised.value.violations] == ["statutory_days", "promised_days"]


def test_negative_supervision_windows_are_refused() -> None:
    with pytest.raises(ValueError, match="warn_within_days"):
        Supervision(warn_within_days=-1)
    with pytest.raises(ValueError, match="red_after_overdue_days"):
        Supervision(red_after_overdue_days=-1)


stop_lengths = st.lists(
    st.tuples(st.integers(min_value=0, max_value=15), st.integers(min_value=0, max_value=15)),
    max_size=4,
)


def timeline(start: date, gaps_and_stops: list[tuple[int, int]]) -> list[ClockMark]:
    """STARTED on `start`, then (run `gap` days, stop for `length` days) pairs."""
    marks = [ClockMark(STARTED, start)]
    day = start
    for gap, length in gaps_and_stops:
        day += timedelta(days=gap)
        marks.append(ClockMark(STOPPED, day))
        day += timedelta(days=length)
        marks.append(ClockMark(RESUMED, day))
    return marks


@given(
    st.dates(min_value=date(2025, 12, 1), max_value=date(2026, 11, 30)),
    stop_lengths,
    st.integers(min_value=0, max_value=90),
)
def test_stops_never_bring_a_due_date_forward(
    start: date, gaps_and_stops: list[tuple[int, int]], age: int
) -> None:
    as_of = start + timedelta(days=age)
    stopped = assess(OFFICIAL, TEN_OF_TWENTY, timeline(start, gaps_and_stops), as_of)
    running = assess(OFFICIAL, TEN_OF_TWENTY, timeline(start, []), as_of)
    assert stopped.promised_due is not None
    assert running.promised_due is not None
    assert stopped.promised_due >= running.promised_due
    assert stopped.working_days_used <= running.working_days_used
    assert running.working_days_used == OFFICIAL.working_days_between(start, as_of)


@given(
    st.dates(min_value=date(2025, 12, 1), max_value=date(2026, 11, 30)),
    stop_lengths,
    st.integers(min_value=0, max_value=90),
)
def test_a_running_clock_is_due_where_the_remaining_days_say(
    start: date, gaps_and_stops: list[tuple[int, int]], age: int
) -> None:
    marks = timeline(start, gaps_and_stops)
    as_of = max(start + timedelta(days=age), marks[-1].on)
    result = assess(OFFICIAL, TEN_OF_TWENTY, marks, as_of)
    assert result.promised_due is not None
    assert not result.stopped
    # Once overdue, the due day may lie before a stop, whose days are not counted.
    assume(result.days_remaining > 0)
    assert OFFICIAL.working_days_between(as_of, result.promised_due) == result.days_remaining
