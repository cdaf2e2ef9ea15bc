"""Deadline state of a case (办理时限), derived from its clock marks.

A case's clock is a timeline of `ClockMark`s that the case aggregate derives
from its events; this module only counts.

How counting works (all counts are working days of a `WorkingCalendar`):

- The clock runs in segments. A segment opens on the day of STARTED (受理)
  or of the RESUMED that closes the last open stop, and that day itself does
  not count: counting starts the day after (Art. 82; after a correction it
  restarts the day after the materials arrive).
- A segment closes on the day of a STOPPED (补齐补正, 挂起, 特别程序) or
  CONCLUDED (办结) mark, and that day does count: the clock ran until the
  stop. So a stop and a resume on the same day lose no time, and the days
  strictly after a stop up to and including its resume are not counted.
- Stops nest: a suspension during a special procedure needs both resumes
  before the clock runs again; it runs only while no stop is open.
- An EXTENDED (延期) mark adds its days to both limits; at most one is
  allowed. A same-day limit (即办件, limits 0/0) is due on the day of
  acceptance.
- Marks dated after `as_of` are ignored, so an assessment can be taken for
  any past day; a running clock counts up to and including `as_of`.

Due dates are the day on which the counted days reach the limit. While the
clock runs or after it went past the limit, that day is fixed. While it is
stopped (or once concluded) with days left, the due date is projected as if
counting resumed the day after `as_of` (or after the conclusion), so a
stopped case's due date moves one working day later for every working day
the stop lasts. Due dates are None only before the clock started.

A deadline is *provisional* when a day it looked at lies in a year the
calendar counts by rule because no official holiday arrangement is loaded
for it (see `calendar`): `provisional_year` names the first such year, and
the due dates and counts may move once the notice is loaded. The days looked
at are those of the counted segments and those up to each due date.

There is no separate "paused" status: `status` says where the counted time
stands against the limits and `stopped` says whether it is moving; a case
that went overdue and was then suspended is still overdue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import Enum

from caseledger.ledger.errors import FieldViolation, InvalidInput
from caseledger.ledger.timelimits.calendar import WorkingCalendar

CORRECTION_NOTICE_DAYS = 5
"""Art. 32: a correction request (补齐补正) is due within 5 working days of receipt."""

ISSUE_DAYS = 10
"""Art. 44: the certificate is issued and delivered within 10 working days of the decision."""


class ClockMarkKind(Enum):
    STARTED = "started"
    """受理: acceptance; counting starts the day after."""
    STOPPED = "stopped"
    """补齐补正 / 挂起 / 特别程序: a correction request, suspension or special procedure begins."""
    RESUMED = "resumed"
    """补正材料 / 恢复 / 特别程序结束: closes one stop; counting restarts the day after."""
    EXTENDED = "extended"
    """延期: both limits grow by `days` working days; once (Art. 42)."""
    CONCLUDED = "concluded"
    """办结: the clock ends; nothing may follow."""


@dataclass(frozen=True)
class ClockMark:
    """One change of a case's clock on a day; `days` only for EXTENDED."""

    kind: ClockMarkKind
    on: date
    reason: str = ""
    days: int = 0

    def __post_init__(self) -> None:
        if self.kind is ClockMarkKind.EXTENDED:
            if self.days <= 0:
                raise ValueError(f"an extension needs a positive number of days, got {self.days}")
        elif self.days != 0:
            raise ValueError(f"only an extension carries days, not {self.kind.name}")


@dataclass(frozen=True)
class TimeLimits:
    """法定时限 statutory and 承诺时限 promised limits, in working days."""

    statutory_days: int
    promised_days: int

    def __post_init__(self) -> None:
        violations = [
            FieldViolation(name, "must not be negative")
            for name, value in (
                ("statutory_days", self.statutory_days),
                ("promised_days", self.promised_days),
            )
            if value < 0
        ]
        if not violations and self.promised_days > self.statutory_days:
            violations.append(FieldViolation("promised_days", "must not exceed statutory_days"))
        if violations:
            raise InvalidInput(*violations)


@dataclass(frozen=True)
class Supervision:
    """Electronic supervision rules (电子监察); local configuration.

    - 预警 warning: at most `warn_within_days` working days of the promised
      limit remain (default 3; a case due today has 0 left and warns).
    - 黄牌 yellow card: past the promised limit.
    - 红牌 red card: past the statutory limit, or past the promised limit by
      more than `red_after_overdue_days` (default 5; None disables that rule).
    """

    warn_within_days: int = 3
    red_after_overdue_days: int | None = 5

    def __post_init__(self) -> None:
        if self.warn_within_days < 0:
            raise ValueError("warn_within_days must not be negative")
        if self.red_after_overdue_days is not None and self.red_after_overdue_days < 0:
            raise ValueError("red_after_overdue_days must not be negative")


class DeadlineStatus(Enum):
    NOT_STARTED = "not_started"
    ON_TIME = "on_time"
    WARNING = "warning"
    """预警"""
    YELLOW = "yellow"
    """黄牌: past the promised limit."""
    RED = "red"
    """红牌: past the statutory limit, or long past the promised one."""
    CONCLUDED_ON_TIME = "concluded_on_time"
    CONCLUDED_LATE = "concluded_late"
    """办结 after the promised limit (extension included)."""


@dataclass(frozen=True)
class DeadlineAssessment:
    """Where a case stands against its limits on one day (module docstring for the rules)."""

    working_days_used: int
    promised_due: date | None
    statutory_due: date | None
    days_remaining: int
    """Of the promised limit (extension included); negative once overdue."""
    statutory_days_remaining: int
    extended_by: int
    stopped: bool
    status: DeadlineStatus
    provisional_year: int | None
    """The first year counted by rule, without its official arrangement; None if none was."""

    @property
    def overdue_days(self) -> int:
        """Working days past the promised limit; 0 while on time."""
        return max(0, -self.days_remaining)

    @property
    def provisional(self) -> bool:
        """Whether the counts and due dates may still move (module docstring)."""
        return self.provisional_year is not None


@dataclass(frozen=True)
class Due:
    """A due date, provisional when the days up to it include a year counted by rule."""

    on: date
    provisional_year: int | None

    @property
    def provisional(self) -> bool:
        return self.provisional_year is not None


@dataclass(frozen=True)
class _Segment:
    """The clock ran on the working days in (opened, closed]; closed None = still running."""

    opened: date
    closed: date | None


@dataclass(frozen=True)
class _Clock:
    segments: tuple[_Segment, ...]
    extended_by: int
    stopped: bool
    concluded_on: date | None


def assess(
    calendar: WorkingCalendar,
    limits: TimeLimits,
    marks: Sequence[ClockMark],
    as_of: date,
    supervision: Supervision | None = None,
) -> DeadlineAssessment:
    """The deadline state of a case on `as_of`, from its clock marks in order.

    Raises ValueError on a malformed timeline (see `_check_timeline`).
    """
    rules = supervision if supervision is not None else Supervision()
    _check_timeline(marks)
    clock = _replay(marks, as_of)
    if not clock.segments:
        return DeadlineAssessment(
            working_days_used=0,
            promised_due=None,
            statutory_due=None,
            days_remaining=limits.promised_days,
            statutory_days_remaining=limits.statutory_days,
            extended_by=0,
            stopped=False,
            status=DeadlineStatus.NOT_STARTED,
            provisional_year=None,
        )
    promised = limits.promised_days + clock.extended_by
    statutory = limits.statutory_days + clock.extended_by
    used = sum(
        calendar.working_days_between(s.opened, as_of if s.closed is None else s.closed)
        for s in clock.segments
    )
    # A stopped clock projects from as_of; a concluded one from its last day.
    resume_from = clock.concluded_on or as_of
    promised_due = _due(calendar, clock.segments, promised, resume_from)
    statutory_due = _due(calendar, clock.segments, statutory, resume_from)
    return DeadlineAssessment(
        working_days_used=used,
        promised_due=promised_due,
        statutory_due=statutory_due,
        days_remaining=promised - used,
        statutory_days_remaining=statutory - used,
        extended_by=clock.extended_by,
        stopped=clock.stopped,
        status=_status(rules, used, promised, statutory, concluded=clock.concluded_on is not None),
        provisional_year=_first_provisional_year(
            calendar, clock, as_of, resume_from, (promised_due, statutory_due)
        ),
    )


def issue_deadline(calendar: WorkingCalendar, decided_on: date) -> Due:
    """Last day to issue and deliver the certificate (出证/送达), Art. 44."""
    return _due_after(calendar, decided_on, ISSUE_DAYS)


def correction_notice_deadline(calendar: WorkingCalendar, received_on: date) -> Due:
    """Last day to send the one-time correction request (一次性告知补正), Art. 32."""
    return _due_after(calendar, received_on, CORRECTION_NOTICE_DAYS)


def _due_after(calendar: WorkingCalendar, start: date, days: int) -> Due:
    on = calendar.add_working_days(start, days)
    return Due(on, calendar.first_provisional_year(start, on))


def _first_provisional_year(
    calendar: WorkingCalendar,
    clock: _Clock,
    as_of: date,
    resume_from: date,
    dues: Sequence[date],
) -> int | None:
    """The first year counted by rule among the days `assess` looked at.

    Those are the counted segments' days and the days a due date was
    counted over: within the running segment, or projected after a stop or
    the conclusion (a due date inside a closed segment adds nothing).
    """
    spans = [(s.opened, as_of if s.closed is None else s.closed) for s in clock.segments]
    last = clock.segments[-1]
    counted_from = last.opened if last.closed is None else resume_from
    spans.extend((counted_from, due) for due in dues)
    years = [calendar.first_provisional_year(start, end) for start, end in spans]
    return min((y for y in years if y is not None), default=None)


def _check_timeline(marks: Sequence[ClockMark]) -> None:
    """Refuse a malformed timeline with ValueError.

    Malformed: a mark before STARTED, a second STARTED, dates going
    backwards, RESUMED with no open stop, a second EXTENDED, or any mark
    after CONCLUDED.
    """
    open_stops = 0
    started = extended = concluded = False
    previous: date | None = None
    for index, mark in enumerate(marks):
        where = f"mark {index} ({mark.kind.name} on {mark.on.isoformat()})"
        if previous is not None and mark.on < previous:
            raise ValueError(f"{where}: dated before the mark preceding it")
        previous = mark.on
        if concluded:
            raise ValueError(f"{where}: follows CONCLUDED")
        if mark.kind is ClockMarkKind.STARTED:
            if started:
                raise ValueError(f"{where}: the clock already started")
            started = True
        elif not started:
            raise ValueError(f"{where}: the clock has not started")
        elif mark.kind is ClockMarkKind.STOPPED:
            open_stops += 1
        elif mark.kind is ClockMarkKind.RESUMED:
            if open_stops == 0:
                raise ValueError(f"{where}: no stop is open")
            open_stops -= 1
        elif mark.kind is ClockMarkKind.EXTENDED:
            if extended:
                raise ValueError(f"{where}: the limits were already extended once")
            extended = True
        else:
            concluded = True


def _replay(marks: Sequence[ClockMark], as_of: date) -> _Clock:
    """Cut a well-formed timeline into running segments, up to `as_of`."""
    segments: list[_Segment] = []
    open_stops = 0
    extended_by = 0
    concluded_on: date | None = None
    # Dates never go backwards, so the marks up to as_of are a prefix.
    for mark in marks:
        if mark.on > as_of:
            break
        match mark.kind:
            case ClockMarkKind.STARTED:
                segments.append(_Segment(mark.on, None))
            case ClockMarkKind.STOPPED:
                if open_stops == 0:
                    segments[-1] = _Segment(segments[-1].opened, mark.on)
                open_stops += 1
            case ClockMarkKind.RESUMED:
                open_stops -= 1
                if open_stops == 0:
                    segments.append(_Segment(mark.on, None))
            case ClockMarkKind.EXTENDED:
                extended_by = mark.days
            case ClockMarkKind.CONCLUDED:
                if open_stops == 0:
                    segments[-1] = _Segment(segments[-1].opened, mark.on)
                concluded_on = mark.on
    return _Clock(
        segments=tuple(segments),
        extended_by=extended_by,
        stopped=open_stops > 0 and concluded_on is None,
        concluded_on=concluded_on,
    )


def _due(
    calendar: WorkingCalendar,
    segments: Sequence[_Segment],
    limit: int,
    resume_from: date,
) -> date:
    """The day the counted working days reach `limit` (the acceptance day for 0)."""
    counted = 0
    for segment in segments:
        if segment.closed is None:
            return calendar.add_working_days(segment.opened, limit - counted)
        in_segment = calendar.working_days_between(segment.opened, segment.closed)
        if counted + in_segment >= limit:
            return calendar.add_working_days(segment.opened, limit - counted)
        counted += in_segment
    return calendar.add_working_days(resume_from, limit - counted)


def _status(
    rules: Supervision, used: int, promised: int, statutory: int, *, concluded: bool
) -> DeadlineStatus:
    if concluded:
        return (
            DeadlineStatus.CONCLUDED_LATE if used > promised else DeadlineStatus.CONCLUDED_ON_TIME
        )
    overdue = used - promised
    long_overdue = (
        rules.red_after_overdue_days is not None and overdue > rules.red_after_overdue_days
    )
    if used > statutory or long_overdue:
        return DeadlineStatus.RED
    if overdue > 0:
        return DeadlineStatus.YELLOW
    if promised - used <= rules.warn_within_days:
        return DeadlineStatus.WARNING
    return DeadlineStatus.ON_TIME
