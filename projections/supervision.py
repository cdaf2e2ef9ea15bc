"""The `supervision` view (电子监察): where each case stands on a given day.

Time passes without events: a case nobody touches becomes due, overdue and
red-carded as working days go by. So nothing here is stored: the state is
evaluated as of a date, with the node's `WorkingCalendar`, from the facts
the `cases` view keeps (limits and clock marks), by the ledger's own
deadline counting (`timelimits.deadlines.assess`). Events dated after the
day asked about are left out, so a past day reads the same every time.

Flags:

- 预警 `warning`, 黄牌 `yellow`, 红牌 `red`: the case's clock against its
  promised and statutory limits, with the thresholds of `Supervision`
  (`warn_within_days`, `red_after_overdue_days`);
- a step overdue inside a case (even one still on time): the one-time
  correction notice or the acceptance decision not made within 5 working
  days of receipt (Art. 32), the certificate not issued and delivered
  within 10 working days of an approval (Art. 44), a bad rating not
  rectified within `rectification_days`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date, datetime

from caseledger.ledger.case.events import china_date
from caseledger.ledger.codes.vocabulary import ConclusionResult
from caseledger.ledger.timelimits.calendar import WorkingCalendar
from caseledger.ledger.timelimits.deadlines import (
    DeadlineAssessment,
    DeadlineStatus,
    Supervision,
    assess,
    correction_notice_deadline,
    issue_deadline,
)
from caseledger.projections.facts import CaseFacts

__all__ = [
    "CARDS",
    "CaseDeadline",
    "StepOverdue",
    "SupervisionRules",
    "case_deadline",
    "happened_by",
    "on_day",
]

CARDS = frozenset({DeadlineStatus.WARNING, DeadlineStatus.YELLOW, DeadlineStatus.RED})
"""The statuses supervision lists: 预警, 黄牌, 红牌."""


@dataclass(frozen=True)
class SupervisionRules:
    """Local configuration of supervision; the defaults are documented in docs/projections.md.

    `deadlines`: 预警 within 3 working days of the promised limit, 红牌 past
    the statutory limit or more than 5 working days past the promised one
    (the ledger's `Supervision` defaults). `rectification_days`: a bad
    rating (差评) is rectified within 5 working days.
    """

    deadlines: Supervision = field(default_factory=Supervision)
    rectification_days: int = 5

    def __post_init__(self) -> None:
        if self.rectification_days < 0:
            raise ValueError("rectification_days must not be negative")


class StepOverdue:
    """Names of the steps that can be overdue inside a case."""

    ACCEPTANCE = "acceptance"
    """Neither a correction notice nor a decision on acceptance within 5 working days (Art. 32)."""
    CERTIFICATE = "certificate"
    """Not issued and delivered within 10 working days of the approval (Art. 44)."""
    RECTIFICATION = "rectification"
    """A bad rating not rectified within the rules' `rectification_days`."""


@functools.lru_cache(maxsize=1 << 16)
def on_day(text: str) -> date | None:
    """The Beijing date of a stored time; None for a stage not reached.

    Remembered: a report reads each stage time of a case a dozen times."""
    return china_date(datetime.fromisoformat(text)) if text else None


def happened_by(text: str, as_of: date) -> bool:
    """Whether a stored stage time lies on or before `as_of` (Beijing dates)."""
    day = on_day(text)
    return day is not None and day <= as_of


@dataclass(frozen=True)
class CaseDeadline:
    """A case's deadline state on one day."""

    facts: CaseFacts
    as_of: date
    assessment: DeadlineAssessment | None
    """None when the case had no time limits by then (not accepted)."""
    steps_overdue: tuple[str, ...]

    @property
    def status(self) -> DeadlineStatus:
        return DeadlineStatus.NOT_STARTED if self.assessment is None else self.assessment.status

    @property
    def flagged(self) -> bool:
        """Whether supervision lists the case: a card, or a step overdue."""
        return self.status in CARDS or bool(self.steps_overdue)


def case_deadline(
    facts: CaseFacts, as_of: date, calendar: WorkingCalendar, rules: SupervisionRules
) -> CaseDeadline:
    """The deadline state of a case on `as_of` (its events after that day left out)."""
    limits = facts.limits
    assessment = None
    if limits is not None and happened_by(facts.accepted_at, as_of):
        assessment = assess(calendar, limits, facts.clock_marks, as_of, rules.deadlines)
    return CaseDeadline(facts, as_of, assessment, _steps_overdue(facts, as_of, calendar, rules))


def _steps_overdue(
    facts: CaseFacts, as_of: date, calendar: WorkingCalendar, rules: SupervisionRules
) -> tuple[str, ...]:
    steps: list[str] = []
    received = on_day(facts.submitted_at)
    if received is not None:
        due = correction_notice_deadline(calendar, received).on
        answered = [
            on_day(t)
            for t in (
                facts.correction_requested_at,
                facts.accepted_at,
                facts.refused_at,
                facts.withdrawn_at,
                facts.returned_at,
            )
            if happened_by(t, as_of)
        ]
        first = min((d for d in answered if d is not None), default=None)
        if (first is None and as_of > due) or (first is not None and first > due):
            steps.append(StepOverdue.ACCEPTANCE)
    decided = on_day(facts.concluded_at)
    if (
        facts.issues_certificate
        and decided is not None
        and decided <= as_of
        and facts.result == ConclusionResult.APPROVED.code
    ):
        due = issue_deadline(calendar, decided).on
        delivered = on_day(facts.delivered_at)
        done = delivered if delivered is not None and delivered <= as_of else None
        if (done is None and as_of > due) or (done is not None and done > due):
            steps.append(StepOverdue.CERTIFICATE)
    rated = on_day(facts.rated_at)
    if facts.rating_bad and rated is not None and rated <= as_of:
        due = calendar.add_working_days(rated, rules.rectification_days)
        fixed = on_day(facts.rectified_at)
        done = fixed if fixed is not None and fixed <= as_of else None
        if (done is None and as_of > due) or (done is not None and done > due):
            steps.append(StepOverdue.RECTIFICATION)
    return tuple(steps)
