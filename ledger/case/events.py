"""Events of a case (办件) and the state they add up to.

Every event carries who did it (operator id and role), where (the division
code of the node), when, the client request it answers, and two hashes: that
of the previous event of the case (`prev_hash`) and its own (`hash`), over the
canonical encoding of `hashed_object` (see `docs/canonical.md`). The stage
name recorded in the hash is the event's class name.

Each event class declares the name it is stored and sent under (`NAME`,
`caseledger.case.` and the class name, so that it never depends on this
module's path) and the version of its shape (`class_version`); both are
listed, with every payload, in `docs/events.md`. Changing what an event holds
means a new class version and an upcaster, never an edit of the old shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from caseledger.ledger.case.stages import Status
from caseledger.ledger.timelimits.deadlines import ClockMark, ClockMarkKind, TimeLimits
from caseledger.ledger.trail.canonical import GENESIS

CHINA_TIME = timezone(timedelta(hours=8), "Asia/Shanghai")
"""Beijing time: dates of receipt, acceptance and deadlines are dates here."""


def china_date(moment: datetime) -> date:
    return moment.astimezone(CHINA_TIME).date()


def utc_text(moment: datetime) -> str:
    """The `occurred_at` text: UTC, ISO 8601, always six fractional digits."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def hashed_object(
    *,
    case: UUID,
    version: int,
    stage: str,
    at: datetime,
    node: str,
    operator: tuple[str, str],
    request: tuple[str, str],
    payload: dict[str, Any],
    prev: str,
) -> dict[str, Any]:
    """The object whose canonical encoding an event's `hash` is the SHA-256 of."""
    return {
        "case": str(case),
        "version": version,
        "type": stage,
        "occurred_at": utc_text(at),
        "node": node,
        "operator": {"id": operator[0], "role": operator[1]},
        "request": {"id": request[0], "digest": request[1]},
        "payload": payload,
        "prev": prev,
    }


class CaseState:
    """What the events of a case add up to; `Case` adds the commands."""

    def __init__(self) -> None:
        self.number = ""
        self.owner = ""
        self.item: dict[str, Any] = {}
        self.channel = ""
        self.needs_pre_review = False
        self.status = Status.SUBMITTED
        self.resume_to = Status.SUBMITTED
        self.correction_requested = False
        self.case_type = ""
        self.limits: TimeLimits | None = None
        self.extended = False
        self.result = ""
        self.certificate = ""
        self.delivery = ""  # "", "dispatched", "delivered"
        self.dispatched_on: date | None = None  # the day a mailed result left
        self.received_on: date | None = None  # the day it was signed for
        self.collected = False  # handed over at the window, not mailed
        self.materials: list[str] = []  # names of every material received
        self.rating = ""
        self.rectification_open = False
        self.marks: list[ClockMark] = []
        self.requests: dict[str, tuple[str, int]] = {}
        self.last_hash = GENESIS
        self.transfer_to = ""  # the target while a transfer is pending
        self.owners: list[str] = []  # every node that owned the case, in order


@dataclass(frozen=True)
class CaseEvent(Aggregate.Event):
    """Common fields of every case event; the stage is the class name.

    Not stored itself, so it has no `NAME`: each stored subclass declares its own.
    """

    node: str
    operator_id: str
    operator_role: str
    request_id: str
    request_digest: str
    payload: dict[str, Any]
    prev_hash: str
    hash: str

    @property
    def stage(self) -> str:
        return type(self).__name__

    def hashed_form(self) -> dict[str, Any]:
        """The object whose canonical encoding `hash` is the SHA-256 of."""
        return hashed_object(
            case=self.originator_id,
            version=self.originator_version,
            stage=self.stage,
            at=self.timestamp,
            node=self.node,
            operator=(self.operator_id, self.operator_role),
            request=(self.request_id, self.request_digest),
            payload=self.payload,
            prev=self.prev_hash,
        )

    def apply(self, aggregate: Any) -> None:
        assert isinstance(aggregate, CaseState)
        aggregate.last_hash = self.hash
        aggregate.requests[self.request_id] = (
            self.request_digest,
            self.originator_version,
        )
        self.evolve(aggregate)

    def evolve(self, case: CaseState) -> None:
        """Stage-specific state change; the default changes nothing else."""

    @property
    def on(self) -> date:
        return china_date(self.timestamp)


@dataclass(frozen=True)
class Submitted(CaseEvent, Aggregate.Created):
    """申报/收件: the applicant's submission was received."""

    NAME: ClassVar[str] = "caseledger.case.Submitted"
    class_version: ClassVar[int] = 1

    def evolve(self, case: CaseState) -> None:
        p = self.payload
        case.number = p["number"]
        case.owner = self.node
        case.owners = [self.node]
        case.item = p["item"]
        case.channel = p["channel"]
        case.needs_pre_review = p["needs_pre_review"]
        case.status = Status.SUBMITTED
        case.materials = [m["name"] for m in p["materials"]]


@dataclass(frozen=True)
class PreReviewPassed(CaseEvent):
    """预审通过."""

    NAME: ClassVar[str] = "caseledger.case.PreReviewPassed"
    class_version: ClassVar[int] = 1

    def evolve(self, case: CaseState) -> None:
        case.status = Status.PRE_REVIEWED


@dataclass(frozen=True)
class PreReviewReturned(CaseEvent):
    """预审退回: the online submission goes back to the applicant."""

    NAME: ClassVar[str] = "caseledger.case.PreReviewReturned"
    class_version: ClassVar[int] = 1

    def evolve(self, case: CaseState) -> None:
        case.status = Status.RETURNED


@dataclass(frozen=True)
class CorrectionRequested(CaseEvent):
    """补齐补正告知: missing or wrong materials listed, once; clock stops."""

    NAME: ClassVar[str] = "caseledger.case.CorrectionRequested"
    class_version: ClassVar[int] = 1

    def evolve(self, case: CaseState) -> None:
        case.correction_requested = True
        case.resume_to = case.status
        case.status = Status.AWAITING_CORRECTION


@dataclass(frozen=True)
class MaterialsSupplemented(CaseEvent):
    """补正材料: the applicant supplied what was asked for."""

    NAME: ClassVar[str] = "caseledger.case.MaterialsSupplemented"
    class_version: ClassVar[int] = 1

    def evolve(self, case: CaseState) -> None:
        case.status = case.resume_to
        case.materials.extend(m["name"] for m in self.payload["materials"])


@dataclass(frozen=True)
class Accepted(CaseEvent):
    """受理: written, dated acceptance; sets case type and time limits."""

    NAME: ClassVar[str] = "caseledger.case.Accepted"
    class_version: ClassVar[int] = 1

    def evolve(self, case: CaseState) -> None:
        p = self.payload
        case.case_type = p["case_type"]
        case.limits = TimeLimits(p["statutory_days"], p["promised_days"])
        case.status = Status.ACCEPTED
        case.marks.append(ClockMark(ClockMarkKind.STARTED, self.on))


@dataclass(frozen=True)
class AcceptanceRefused(CaseEvent):
    """不予受理, with reason and legal basis."""

    NAME: ClassVar[str] = "caseledger.case.AcceptanceRefused"
    class_version: ClassVar[int] = 1

    def evolve(self, case: CaseState) -> None:
        case.status = Status.REFUSED


@dataclass(frozen=True)
class StepRecorded(CaseEvent):
    """办理环节 (审查/审核/审批/决定 ...)."""

    NAME: ClassVar[str] = "caseledger.case.StepRecorded"
    class_version: ClassVar[int] = 1

    def evolve(self, case: CaseState) -> None:
        case.status = Status.IN_PROCESS


@dataclass(frozen=True)
class SpecialProcedureStarted(CaseEvent):
    """特别程序开始 (听证, 检验检测检疫, 鉴定, 专家评审, 实地核查); not counted."""

    NAME: ClassVar[str] = "caseledger.case.SpecialProcedureStarted"
    class_version: ClassVar[int] = 1

    def evolve(self, case: CaseState) -> None:
        case.resume_to = Status.IN_PROCESS
        case.status = Status.SPECIAL_PROCEDURE
        reason = self.payload["kind"]
        case.marks.append(ClockMark(ClockMarkKind.STOPPED, self.on, reason))


@dataclass(frozen=True)
class SpecialProcedureEnded(CaseEvent):
    """特别程序结束."""

    NAME: ClassVar[str] = "caseledger.case.SpecialProcedureEnded"
    class_version: ClassVar[int] = 1

    def evolve(self, case: CaseState) -> None:
        case.status = case.resume_to
        case.marks.append(ClockMark(ClockMarkKind.RESUMED, self.on))


@dataclass(frozen=True)
class Suspended(CaseEvent):
    """挂起: the clock stops."""

    NAME: ClassVar[str] = "caseledger.case.Suspended"
    class_version: ClassVar[int] = 1

    def evolve(self, case: CaseState) -> None:
        case.resume_to = Status.IN_PROCESS
        case.status = Status.SUSPENDED
        case.marks.append(ClockMark(ClockMarkKind.STOPPED, self.on, "suspended"))


@dataclass(frozen=True)
class Resumed(CaseEvent):
    """恢复."""

    NAME: ClassVar[str] = "caseledger.case.Resumed"
    class_version: ClassVar[int] = 1

    def evolve(self, case: CaseState) -> None:
        case.status = case.resume_to
        case.marks.append(ClockMark(ClockMarkKind.RESUMED, self.on))


@dataclass(frozen=True)
class DeadlineExtended(CaseEvent):
    """延期: +10 working days with the agency head's approval, once."""

    NAME: ClassVar[str] = "caseledger.case.DeadlineExtended"
    class_version: ClassVar[int] = 1

    def evolve(self, case: CaseState) -> None:
        case.extended = True
        days = self.payload["days"]
        case.marks.append(ClockMark(ClockMarkKind.EXTENDED, self.on, days=days))


@dataclass(frozen=True)
class Concluded(CaseEvent):
    """办结, with its result."""

    NAME: ClassVar[str] = "caseledger.case.Concluded"
    class_version: ClassVar[int] = 1

    def evolve(self, case: CaseState) -> None:
        case.result = self.payload["result"]
        case.status = Status.CONCLUDED
        if case.limits is not None:
            case.marks.append(ClockMark(ClockMarkKind.CONCLUDED, self.on))


@dataclass(frozen=True)
class CertificateIssued(CaseEvent):
    """出证: e-licence identifier, file hash and validity."""

    NAME: ClassVar[str] = "caseledger.case.CertificateIssued"
    class_version: ClassVar[int] = 1

    def evolve(self, case: CaseState) -> None:
        case.certificate = self.payload["licence_id"]


@dataclass(frozen=True)
class DispatchedByMail(CaseEvent):
    """邮寄送达: handed to the carrier."""

    NAME: ClassVar[str] = "caseledger.case.DispatchedByMail"
    class_version: ClassVar[int] = 1

    def evolve(self, case: CaseState) -> None:
        case.delivery = "dispatched"
        case.dispatched_on = self.on


@dataclass(frozen=True)
class CollectedAtWindow(CaseEvent):
    """窗口领取: collected and signed for at the window."""

    NAME: ClassVar[str] = "caseledger.case.CollectedAtWindow"
    class_version: ClassVar[int] = 1

    def evolve(self, case: CaseState) -> None:
        case.delivery = "delivered"
        case.collected = True


@dataclass(frozen=True)
class DeliveryConfirmed(CaseEvent):
    """签收: the mailed result was received."""

    NAME: ClassVar[str] = "caseledger.case.DeliveryConfirmed"
    class_version: ClassVar[int] = 1

    def evolve(self, case: CaseState) -> None:
        case.delivery = "delivered"
        case.received_on = date.fromisoformat(self.payload["received_on"])


@dataclass(frozen=True)
class Withdrawn(CaseEvent):
    """撤件: withdrawn by the applicant before conclusion."""

    NAME: ClassVar[str] = "caseledger.case.Withdrawn"
    class_version: ClassVar[int] = 1

    def evolve(self, case: CaseState) -> None:
        case.status = Status.WITHDRAWN
        if case.limits is not None:
            # A withdrawn case is over: its clock must not keep counting.
            case.marks.append(ClockMark(ClockMarkKind.CONCLUDED, self.on))


@dataclass(frozen=True)
class Rated(CaseEvent):
    """好差评: a bad rating opens a rectification."""

    NAME: ClassVar[str] = "caseledger.case.Rated"
    class_version: ClassVar[int] = 1

    def evolve(self, case: CaseState) -> None:
        case.rating = self.payload["satisfaction"]
        case.rectification_open = self.payload["bad"]


@dataclass(frozen=True)
class RectificationRecorded(CaseEvent):
    """差评整改: response and fix recorded."""

    NAME: ClassVar[str] = "caseledger.case.RectificationRecorded"
    class_version: ClassVar[int] = 1

    def evolve(self, case: CaseState) -> None:
        case.rectification_open = False


@dataclass(frozen=True)
class TransferRequested(CaseEvent):
    """转报 (up) / 下发 (down) / 跨域 (sideways): the owner stops writing."""

    NAME: ClassVar[str] = "caseledger.case.TransferRequested"
    class_version: ClassVar[int] = 1

    def evolve(self, case: CaseState) -> None:
        case.transfer_to = self.payload["target"]


@dataclass(frozen=True)
class TransferAccepted(CaseEvent):
    """The target took the case: it is the owner from here on."""

    NAME: ClassVar[str] = "caseledger.case.TransferAccepted"
    class_version: ClassVar[int] = 1

    def evolve(self, case: CaseState) -> None:
        case.owner = self.node
        case.transfer_to = ""
        if self.node not in case.owners:
            case.owners.append(self.node)


@dataclass(frozen=True)
class TransferRejected(CaseEvent):
    """The target declined: ownership returns to the node that asked."""

    NAME: ClassVar[str] = "caseledger.case.TransferRejected"
    class_version: ClassVar[int] = 1

    def evolve(self, case: CaseState) -> None:
        case.transfer_to = ""
