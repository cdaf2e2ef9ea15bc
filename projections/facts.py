"""What the `cases` view keeps of one case: its facts, folded from its events.

The fold reuses the case's own state transitions (`CaseEvent.evolve` on a
`CaseState`) for status, owners, time limits and clock marks, so a view
never disagrees with the ledger about where a case stands; it adds only
what reporting needs and the aggregate does not keep (who did what, when).

Personal data is never read: the applicant, signers and addresses are
sealed in the events and left out here, sealed or not.

Facts are plain JSON values, so a row can be stored, compared and folded
further from where it was left. Times are UTC ISO 8601 text; `*_on` dates
are dates in Beijing time, the days deadlines are counted in.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import date, datetime
from typing import Any

import caseledger.ledger.case.events as ev
from caseledger.ledger.case.stages import Status
from caseledger.ledger.codes.vocabulary import CaseType
from caseledger.ledger.timelimits.deadlines import ClockMark, ClockMarkKind, TimeLimits

__all__ = ["CaseFacts", "ClockStop", "fold", "fold_all"]

SYSTEM_ROLE = "system"
"""The operator role of a rating the platform filled in by default (默认好评)."""


@dataclass(frozen=True)
class ClockStop:
    """A span during which the clock stood still (补齐补正, 挂起, 特别程序)."""

    reason: str
    started_on: str
    ended_on: str | None


@dataclass(frozen=True)
class CaseFacts:
    """One row of the `cases` view (docs/projections.md lists every column)."""

    case_id: str
    version: int = 0
    number: str = ""
    owner: str = ""
    owners: tuple[str, ...] = ()
    received_by: str = ""
    accepted_by: str = ""
    concluded_by: str = ""
    item_basic_code: str = ""
    item_code: str = ""
    item_name: str = ""
    issues_certificate: bool = False
    channel: str = ""
    case_type: str = ""
    status: str = Status.SUBMITTED.value
    resume_to: str = Status.SUBMITTED.value
    transfer_to: str = ""
    result: str = ""
    submitted_at: str = ""
    accepted_at: str = ""
    refused_at: str = ""
    returned_at: str = ""
    correction_requested_at: str = ""
    concluded_at: str = ""
    certificate_at: str = ""
    delivered_at: str = ""
    withdrawn_at: str = ""
    withdrawn_by: str = ""
    delivery_method: str = ""
    """"mail" or "window" once the result was handed over."""
    statutory_days: int | None = None
    promised_days: int | None = None
    extended_days: int = 0
    marks: tuple[tuple[str, str, str, int], ...] = ()
    transfers: tuple[tuple[str, str, str, str], ...] = ()
    """(from node, target, kind, at) of each transfer requested."""
    rating: str = ""
    rating_channel: str = ""
    rating_bad: bool = False
    rating_default: bool = False
    rated_at: str = ""
    rated_by: str = ""
    rectified_at: str = ""

    # -- derived --------------------------------------------------------------

    @property
    def immediate(self) -> bool:
        """即办件: accepted as an immediate case (limits 0/0)."""
        return self.case_type == CaseType.IMMEDIATE.code

    @property
    def limits(self) -> TimeLimits | None:
        if self.statutory_days is None or self.promised_days is None:
            return None
        return TimeLimits(self.statutory_days, self.promised_days)

    @property
    def clock_marks(self) -> list[ClockMark]:
        return [
            ClockMark(ClockMarkKind(kind), date.fromisoformat(on), reason, days)
            for kind, on, reason, days in self.marks
        ]

    @property
    def clock_stops(self) -> list[ClockStop]:
        """Stops as spans; nested stops are each a span of their own."""
        stops: list[ClockStop] = []
        open_: list[int] = []
        for kind, on, reason, _ in self.marks:
            if kind == ClockMarkKind.STOPPED.value:
                open_.append(len(stops))
                stops.append(ClockStop(reason, on, None))
            elif kind == ClockMarkKind.RESUMED.value and open_:
                index = open_.pop()
                stops[index] = replace(stops[index], ended_on=on)
        return stops

    def to_json(self) -> dict[str, Any]:
        # Every member is a JSON value already (tuples of text and numbers), so a
        # shallow dict is enough; `asdict` copied each tuple deeply on every event.
        return {name: getattr(self, name) for name in _FIELD_NAMES}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CaseFacts:
        return cls(
            **{
                **data,
                "owners": tuple(data["owners"]),
                "marks": tuple(tuple(m) for m in data["marks"]),
                "transfers": tuple(tuple(t) for t in data["transfers"]),
            }
        )


_FIELD_NAMES = tuple(f.name for f in fields(CaseFacts))


def at_text(moment: datetime) -> str:
    return ev.utc_text(moment)


def _state(facts: CaseFacts) -> ev.CaseState:
    """The aggregate's state as far as the transitions read it."""
    state = ev.CaseState()
    state.status = Status(facts.status)
    state.resume_to = Status(facts.resume_to)
    state.owner = facts.owner
    state.owners = list(facts.owners)
    state.limits = facts.limits
    state.marks = facts.clock_marks
    state.transfer_to = facts.transfer_to
    return state


_STAGE_TIMES: dict[type[ev.CaseEvent], str] = {
    ev.PreReviewReturned: "returned_at",
    ev.CorrectionRequested: "correction_requested_at",
    ev.CertificateIssued: "certificate_at",
    ev.DeliveryConfirmed: "delivered_at",
    ev.RectificationRecorded: "rectified_at",
}
"""Events of which the view keeps only when they happened."""


def _stage_facts(facts: CaseFacts, event: ev.CaseEvent) -> dict[str, Any]:
    """What this view records of an event beyond the aggregate's state."""
    at = at_text(event.timestamp)
    timed = _STAGE_TIMES.get(type(event))
    if timed is not None:
        return {timed: at}
    p = event.payload
    match event:
        case ev.Submitted():
            item = p["item"]
            return {
                "number": p["number"],
                "received_by": event.node,
                "item_basic_code": item["basic_code"],
                "item_code": item["implementation_code"],
                "item_name": item["name"],
                "issues_certificate": item["issues_certificate"],
                "channel": p["channel"],
                "submitted_at": at,
            }
        case ev.Accepted():
            return {"case_type": p["case_type"], "accepted_at": at, "accepted_by": event.node}
        case ev.AcceptanceRefused():
            return {"refused_at": at, "accepted_by": event.node}
        case ev.DeadlineExtended():
            return {"extended_days": p["days"]}
        case ev.Concluded():
            return {"concluded_at": at, "concluded_by": event.node, "result": p["result"]}
        case ev.DispatchedByMail():
            return {"delivery_method": "mail"}
        case ev.CollectedAtWindow():
            return {"delivered_at": at, "delivery_method": "window"}
        case ev.Withdrawn():
            return {"withdrawn_at": at, "withdrawn_by": event.node}
        case ev.Rated():
            return {
                "rating": p["satisfaction"],
                "rating_channel": p["channel"],
                "rating_bad": p["bad"],
                "rating_default": event.operator_role == SYSTEM_ROLE,
                "rated_at": at,
                "rated_by": event.node,
            }
        case ev.TransferRequested():
            transfer = (event.node, p["target"], p["kind"], at)
            return {"transfers": (*facts.transfers, transfer)}
    return {}


def fold(facts: CaseFacts, event: ev.CaseEvent) -> CaseFacts:
    """The facts after `event`, which must be the case's next version."""
    if event.originator_version != facts.version + 1:
        raise ValueError(
            f"case {facts.case_id}: version {event.originator_version} "
            f"does not follow {facts.version}"
        )
    state = _state(facts)
    event.evolve(state)
    limits = state.limits
    return _changed(
        facts,
        **_stage_facts(facts, event),
        version=event.originator_version,
        status=state.status.value,
        resume_to=state.resume_to.value,
        owner=state.owner,
        owners=tuple(state.owners),
        transfer_to=state.transfer_to,
        statutory_days=None if limits is None else limits.statutory_days,
        promised_days=None if limits is None else limits.promised_days,
        marks=tuple((m.kind.value, m.on.isoformat(), m.reason, m.days) for m in state.marks),
    )


def _changed(facts: CaseFacts, **changes: Any) -> CaseFacts:
    """`dataclasses.replace` without its per-field checks, for the one call every
    event of a rebuild makes (it was a fifth of a rebuild's time): the values
    are those of a valid `CaseFacts` or the fold's own, and `CaseFacts` has no
    `__post_init__` to run."""
    changed = object.__new__(CaseFacts)
    changed.__dict__.update(facts.__dict__, **changes)
    return changed


def fold_all(case_id: str, events: list[ev.CaseEvent]) -> CaseFacts:
    """The facts of a case from its first event; empty facts (version 0) for none."""
    facts = CaseFacts(case_id)
    for event in events:
        facts = fold(facts, event)
    return facts
