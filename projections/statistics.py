"""The `statistics` view: 办件 figures per node, level, item and period, as of a day.

Every figure is a count (or a sum) attributed to exactly one node — the one
that did the act — so figures add up: a node's subtree figures are its own
plus the sum of its children's subtree figures, and a city's equal the sum
of its counties' plus its own. Rates are derived from the counts, never
added. Attribution (docs/projections.md has the table):

- submitted, online, 全程网办, corrections: the receiving node;
- accepted, refused, immediate, 压缩率: the node that decided on acceptance;
- concluded (by result), on time, early, late, working days: the
  concluding node;
- backlog and overdue (as of the period's last day): the accepting node;
- transferred: the node that asked for the transfer; withdrawn: the owner
  it was withdrawn at; ratings and rectifications: the node rated.

A period is a range of Beijing dates, both ends included. Figures are
evaluated `as_of` a day: anything dated after it is left out, so once a
period is closed and `as_of` is fixed, its figures are the same every time
they are asked, however the views grew since.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from datetime import date

from caseledger.ledger.codes.vocabulary import SubmissionChannel
from caseledger.ledger.timelimits.calendar import WorkingCalendar
from caseledger.ledger.timelimits.deadlines import DeadlineStatus
from caseledger.projections.facts import CaseFacts
from caseledger.projections.supervision import (
    StepOverdue,
    SupervisionRules,
    case_deadline,
    happened_by,
    on_day,
)

__all__ = ["Figures", "Period", "Scope", "node_figures"]

_ONLINE = frozenset({SubmissionChannel.ONLINE.code, SubmissionChannel.MOBILE.code})


@dataclass(frozen=True)
class Period:
    """Beijing dates `first` to `last`, both included."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError(f"a period ends on or after it begins: {self.first} > {self.last}")

    def holds(self, text: str, as_of: date) -> bool:
        """Whether a stored stage time falls in the period and on or before `as_of`."""
        day = on_day(text)
        return day is not None and self.first <= day <= min(self.last, as_of)


@dataclass
class Figures:
    """Additive counts of one node or subtree; rates are properties over them."""

    submitted: int = 0
    submitted_online: int = 0
    fully_online: int = 0
    corrections: int = 0
    accepted: int = 0
    refused: int = 0
    immediate: int = 0
    statutory_days_sum: int = 0
    promised_days_sum: int = 0
    concluded: int = 0
    concluded_by_result: Counter[str] = field(default_factory=Counter)
    concluded_on_time: int = 0
    concluded_early: int = 0
    concluded_late: int = 0
    working_days_sum: int = 0
    transferred: int = 0
    withdrawn: int = 0
    backlog: int = 0
    overdue: int = 0
    ratings: Counter[str] = field(default_factory=Counter)
    """Active ratings (主动评价) by satisfaction code, 1 非常满意 … 5 非常不满意."""
    default_ratings: Counter[str] = field(default_factory=Counter)
    """Ratings the platform filled in by default, apart."""
    bad_ratings: int = 0
    rectified_in_time: int = 0
    rectifications_open: int = 0
    rectifications_overdue: int = 0

    def __add__(self, other: Figures) -> Figures:
        return Figures(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    # -- rates: None where the denominator is 0 -------------------------------

    @property
    def on_time_rate(self) -> float | None:
        """按时办结率: concluded within the promised limit / concluded with a limit."""
        timed = self.concluded_on_time + self.concluded_late
        return _rate(self.concluded_on_time, timed)

    @property
    def early_rate(self) -> float | None:
        """提前办结率: concluded before the promised limit / concluded with a limit."""
        return _rate(self.concluded_early, self.concluded_on_time + self.concluded_late)

    @property
    def average_working_days(self) -> float | None:
        """平均办理时长 in working days, over cases concluded with a limit."""
        return _rate(self.working_days_sum, self.concluded_on_time + self.concluded_late)

    @property
    def immediate_share(self) -> float | None:
        """即办件占比: immediate cases / accepted."""
        return _rate(self.immediate, self.accepted)

    @property
    def compression_rate(self) -> float | None:
        """承诺时限压缩率: Σ(statutory − promised) / Σ statutory over accepted cases
        (weighted by the statutory limit, so subtrees add up exactly)."""
        saved = self.statutory_days_sum - self.promised_days_sum
        return _rate(saved, self.statutory_days_sum)

    @property
    def online_share(self) -> float | None:
        """网上申报 share: submitted online or on mobile / submitted."""
        return _rate(self.submitted_online, self.submitted)

    @property
    def fully_online_share(self) -> float | None:
        """全程网办率: submitted online and concluded with no visit to a window / submitted."""
        return _rate(self.fully_online, self.submitted)

    @property
    def rectification_rate(self) -> float | None:
        """差评整改率: bad ratings rectified in time / bad ratings."""
        return _rate(self.rectified_in_time, self.bad_ratings)


def _rate(part: float, whole: float) -> float | None:
    return None if whole == 0 else part / whole


Attribute = Callable[[str], bool]


@dataclass(frozen=True)
class Scope:
    """What figures are asked for: a period, as of a day, counted with a calendar and rules."""

    period: Period
    as_of: date
    calendar: WorkingCalendar
    rules: SupervisionRules = field(default_factory=SupervisionRules)

    @property
    def end(self) -> date:
        """The last day anything is counted on."""
        return min(self.period.last, self.as_of)

    def holds(self, text: str) -> bool:
        return self.period.holds(text, self.as_of)


def node_figures(rows: Iterable[CaseFacts], belongs: Attribute, scope: Scope) -> Figures:
    """The figures of the nodes `belongs` accepts (a prefix test for a subtree,
    equality for a node's own), over `rows`, in `scope`."""
    out = Figures()
    for f in rows:
        if not happened_by(f.submitted_at, scope.end):
            continue
        _intake(out, f, belongs, scope)
        _outcome(out, f, belongs, scope)
        _ratings(out, f, belongs, scope)
    return out


def _intake(out: Figures, f: CaseFacts, belongs: Attribute, scope: Scope) -> None:
    as_of = scope.as_of
    if belongs(f.received_by) and scope.holds(f.submitted_at):
        out.submitted += 1
        if f.channel in _ONLINE:
            out.submitted_online += 1
            if f.delivery_method != "window" and happened_by(f.concluded_at, as_of):
                out.fully_online += 1
    if belongs(f.received_by) and scope.holds(f.correction_requested_at):
        out.corrections += 1
    if belongs(f.accepted_by) and scope.holds(f.refused_at):
        out.refused += 1
    if belongs(f.accepted_by) and scope.holds(f.accepted_at):
        out.accepted += 1
        out.immediate += f.immediate
        if f.statutory_days is not None and f.promised_days is not None:
            out.statutory_days_sum += f.statutory_days
            out.promised_days_sum += f.promised_days
    for source, _, _, at in f.transfers:
        if belongs(source) and scope.holds(at):
            out.transferred += 1
    if belongs(f.withdrawn_by) and scope.holds(f.withdrawn_at):
        out.withdrawn += 1


def _outcome(out: Figures, f: CaseFacts, belongs: Attribute, scope: Scope) -> None:
    end, calendar, rules = scope.end, scope.calendar, scope.rules
    if belongs(f.concluded_by) and scope.holds(f.concluded_at):
        out.concluded += 1
        out.concluded_by_result[f.result] += 1
        concluded_on = on_day(f.concluded_at)
        assert concluded_on is not None
        state = case_deadline(f, concluded_on, calendar, rules).assessment
        if state is not None:
            out.working_days_sum += state.working_days_used
            if state.status is DeadlineStatus.CONCLUDED_ON_TIME:
                out.concluded_on_time += 1
                out.concluded_early += state.days_remaining > 0
            else:
                out.concluded_late += 1
    open_at_end = (
        happened_by(f.accepted_at, end)
        and not happened_by(f.concluded_at, end)
        and not happened_by(f.withdrawn_at, end)
    )
    if belongs(f.accepted_by) and open_at_end:
        out.backlog += 1
        status = case_deadline(f, end, calendar, rules).status
        out.overdue += status in (DeadlineStatus.YELLOW, DeadlineStatus.RED)


def _ratings(out: Figures, f: CaseFacts, belongs: Attribute, scope: Scope) -> None:
    if not (belongs(f.rated_by) and scope.holds(f.rated_at)):
        return
    (out.default_ratings if f.rating_default else out.ratings)[f.rating] += 1
    if not f.rating_bad:
        return
    out.bad_ratings += 1
    end = scope.end
    steps = case_deadline(f, end, scope.calendar, scope.rules).steps_overdue
    rectified = happened_by(f.rectified_at, end)
    late = StepOverdue.RECTIFICATION in steps
    out.rectified_in_time += rectified and not late
    out.rectifications_open += not rectified
    out.rectifications_overdue += (not rectified) and late
