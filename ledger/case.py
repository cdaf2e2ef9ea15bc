"""The `Case` aggregate (办件): commands that check the stage model first.

A command method checks ownership, the transition table (`stages.ALLOWED`)
and its own guards before it triggers anything, so a refused command leaves
the case exactly as it was. Field-level validation of the command's inputs
also happens before any event exists: bad input writes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from caseledger.ledger import case_events as ev
from caseledger.ledger.canonical import GENESIS, digest
from caseledger.ledger.deadlines import TimeLimits
from caseledger.ledger.errors import IllegalTransition, InvalidInput, NotOwner, RequestReused
from caseledger.ledger.personal import Sealed
from caseledger.ledger.stages import ALLOWED, Command, Status
from caseledger.ledger.vocabulary import (
    ApplicantType,
    CaseType,
    ConclusionResult,
    RatingChannel,
    Satisfaction,
    SpecialProcedureKind,
    SubmissionChannel,
)

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
EXTENSION_DAYS = 10  # Administrative Licensing Law Art. 42
_PRE_REVIEWED_CHANNELS = frozenset({SubmissionChannel.ONLINE, SubmissionChannel.MOBILE})
_STEP_ACTIONS = frozenset({"pass", "return"})


@dataclass(frozen=True)
class Operator:
    """The person (or system) acting, recorded in every event."""

    id: str
    role: str


@dataclass(frozen=True)
class Context:
    """Who, where, when and for which client request a command runs."""

    node: str
    operator: Operator
    at: datetime
    request_id: str
    request_digest: str


@dataclass(frozen=True)
class Material:
    """A submitted document (材料), identified by the SHA-256 of its file."""

    name: str
    sha256: str


@dataclass(frozen=True)
class ItemRef:
    """The catalogue item (事项) a case is about, as recorded at submission."""

    basic_code: str
    implementation_code: str
    name: str
    issues_certificate: bool


@dataclass(frozen=True)
class Applicant:
    """The applicant; every personal datum sealed under the subject's key."""

    type: ApplicantType
    subject: str
    name: Sealed
    id_number: Sealed
    phone: Sealed | None = None
    address: Sealed | None = None


def text(value: str, field: str) -> str:
    if not value.strip():
        raise InvalidInput.single(field, "must not be empty")
    return value


def materials_json(materials: list[Material], field: str) -> list[dict[str, Any]]:
    if not materials:
        raise InvalidInput.single(field, "at least one material is required")
    out = []
    for index, material in enumerate(materials):
        text(material.name, f"{field}[{index}].name")
        if not _SHA256.match(material.sha256):
            raise InvalidInput.single(
                f"{field}[{index}].sha256", "must be 64 lower-case hex digits"
            )
        out.append({"name": material.name, "sha256": material.sha256})
    return out


def _sealed(value: Sealed | None) -> dict[str, str] | None:
    return None if value is None else value.to_json()


def _check_context(ctx: Context) -> None:
    text(ctx.operator.id, "operator.id")
    text(ctx.operator.role, "operator.role")
    text(ctx.request_id, "request_id")
    if ctx.at.tzinfo is None:
        raise InvalidInput.single("occurred_at", "must carry a time zone")


class Case(ev.CaseState, Aggregate):
    """A government service case (办件) and its hash-chained trail."""

    @classmethod
    def submit(
        cls,
        case_id: UUID,
        ctx: Context,
        *,
        number: str,
        item: ItemRef,
        channel: SubmissionChannel,
        applicant: Applicant,
        materials: list[Material],
    ) -> Case:
        """申报/收件: open a case at the receiving node, which becomes its owner."""
        _check_context(ctx)
        payload = {
            "number": text(number, "number"),
            "item": {
                "basic_code": item.basic_code,
                "implementation_code": item.implementation_code,
                "name": item.name,
                "issues_certificate": item.issues_certificate,
            },
            "channel": channel.code,
            "needs_pre_review": channel in _PRE_REVIEWED_CHANNELS,
            "applicant": {
                "type": applicant.type.code,
                "subject": applicant.subject,
                "name": applicant.name.to_json(),
                "id_number": applicant.id_number.to_json(),
                "phone": _sealed(applicant.phone),
                "address": _sealed(applicant.address),
            },
            "materials": materials_json(materials, "materials"),
        }
        hashed = ev.hashed_object(
            case=case_id,
            version=1,
            stage=ev.Submitted.__name__,
            at=ctx.at,
            node=ctx.node,
            operator=(ctx.operator.id, ctx.operator.role),
            request=(ctx.request_id, ctx.request_digest),
            payload=payload,
            prev=GENESIS,
        )
        return cls._create(
            ev.Submitted,
            id=case_id,
            timestamp=ctx.at,
            **_event_fields(ctx, payload, GENESIS, digest(hashed)),
        )

    def writable_by(self, node: str) -> bool:
        """Whether `node` is the one that may append to this case now."""
        return self.owner == node

    # -- the common path of every later command ---------------------------

    def replay_of(self, ctx: Context) -> int | None:
        """The version a retried request produced, or None if it is new."""
        seen = self.requests.get(ctx.request_id)
        if seen is None:
            return None
        if seen[0] != ctx.request_digest:
            raise RequestReused(ctx.request_id)
        return seen[1]

    def _check(self, command: Command, ctx: Context) -> None:
        _check_context(ctx)
        if ctx.node != self.owner:
            raise NotOwner(self.number, self.owner, ctx.node)
        if ctx.at < self.modified_on:
            raise InvalidInput.single("occurred_at", "must not be before the case's last event")
        if self.status not in ALLOWED[command]:
            raise self._refuse(command, "not allowed in this status")

    def _refuse(self, command: Command, reason: str) -> IllegalTransition:
        return IllegalTransition(command.value, self.status.value, reason)

    def _append(
        self, event_class: type[ev.CaseEvent], ctx: Context, payload: dict[str, Any]
    ) -> None:
        hashed = ev.hashed_object(
            case=self.id,
            version=self.version + 1,
            stage=event_class.__name__,
            at=ctx.at,
            node=ctx.node,
            operator=(ctx.operator.id, ctx.operator.role),
            request=(ctx.request_id, ctx.request_digest),
            payload=payload,
            prev=self.last_hash,
        )
        self.trigger_event(
            event_class,
            timestamp=ctx.at,
            **_event_fields(ctx, payload, self.last_hash, digest(hashed)),
        )

    # -- before acceptance -------------------------------------------------

    def pass_pre_review(self, ctx: Context, opinion: str) -> None:
        """预审通过 (online submissions only)."""
        self._check(Command.PASS_PRE_REVIEW, ctx)
        if not self.needs_pre_review:
            raise self._refuse(
                Command.PASS_PRE_REVIEW, "window submissions are checked at the window"
            )
        self._append(ev.PreReviewPassed, ctx, {"opinion": text(opinion, "opinion")})

    def return_pre_review(self, ctx: Context, reason: str) -> None:
        """预审退回."""
        self._check(Command.RETURN_PRE_REVIEW, ctx)
        if not self.needs_pre_review:
            raise self._refuse(
                Command.RETURN_PRE_REVIEW, "window submissions are checked at the window"
            )
        self._append(ev.PreReviewReturned, ctx, {"reason": text(reason, "reason")})

    def request_correction(self, ctx: Context, missing: list[tuple[str, str]]) -> None:
        """补齐补正: list every missing or wrong material, once (Art. 32)."""
        self._check(Command.REQUEST_CORRECTION, ctx)
        if self.correction_requested:
            raise self._refuse(
                Command.REQUEST_CORRECTION, "a correction may be requested only once"
            )
        if not missing:
            raise InvalidInput.single("materials", "list at least one material to correct")
        listed = [
            {
                "name": text(name, f"materials[{i}].name"),
                "reason": text(why, f"materials[{i}].reason"),
            }
            for i, (name, why) in enumerate(missing)
        ]
        self._append(ev.CorrectionRequested, ctx, {"materials": listed})

    def supplement_materials(self, ctx: Context, materials: list[Material]) -> None:
        """补正材料."""
        self._check(Command.SUPPLEMENT_MATERIALS, ctx)
        self._append(
            ev.MaterialsSupplemented, ctx, {"materials": materials_json(materials, "materials")}
        )

    def accept(self, ctx: Context, notice_no: str, case_type: CaseType, limits: TimeLimits) -> None:
        """受理: the written acceptance sets the case type and the time limits."""
        self._check(Command.ACCEPT, ctx)
        if self.needs_pre_review and self.status is Status.SUBMITTED:
            raise self._refuse(Command.ACCEPT, "an online submission must pass pre-review first")
        payload = {
            "notice_no": text(notice_no, "notice_no"),
            "case_type": case_type.code,
            "statutory_days": limits.statutory_days,
            "promised_days": limits.promised_days,
        }
        self._append(ev.Accepted, ctx, payload)

    def refuse_acceptance(
        self, ctx: Context, notice_no: str, reason: str, legal_basis: str
    ) -> None:
        """不予受理, with reason and legal basis."""
        self._check(Command.REFUSE_ACCEPTANCE, ctx)
        payload = {
            "notice_no": text(notice_no, "notice_no"),
            "reason": text(reason, "reason"),
            "legal_basis": text(legal_basis, "legal_basis"),
        }
        self._append(ev.AcceptanceRefused, ctx, payload)

    # -- processing --------------------------------------------------------

    def record_step(self, ctx: Context, step: str, handler: str, opinion: str, action: str) -> None:
        """办理环节: 审查 / 审核 / 审批 / 决定 ..., passed on or returned."""
        self._check(Command.RECORD_STEP, ctx)
        if action not in _STEP_ACTIONS:
            raise InvalidInput.single("action", "must be pass or return")
        payload = {
            "step": text(step, "step"),
            "handler": text(handler, "handler"),
            "opinion": opinion,
            "action": action,
        }
        self._append(ev.StepRecorded, ctx, payload)

    def start_special_procedure(
        self, ctx: Context, kind: SpecialProcedureKind, reason: str
    ) -> None:
        """特别程序: its time is not counted (Art. 45)."""
        self._check(Command.START_SPECIAL_PROCEDURE, ctx)
        self._append(
            ev.SpecialProcedureStarted, ctx, {"kind": kind.code, "reason": text(reason, "reason")}
        )

    def end_special_procedure(self, ctx: Context, outcome: str) -> None:
        self._check(Command.END_SPECIAL_PROCEDURE, ctx)
        self._append(ev.SpecialProcedureEnded, ctx, {"outcome": text(outcome, "outcome")})

    def suspend(self, ctx: Context, reason: str) -> None:
        """挂起."""
        self._check(Command.SUSPEND, ctx)
        self._append(ev.Suspended, ctx, {"reason": text(reason, "reason")})

    def resume(self, ctx: Context, note: str) -> None:
        """恢复."""
        self._check(Command.RESUME, ctx)
        self._append(ev.Resumed, ctx, {"note": note})

    def extend_deadline(self, ctx: Context, approved_by: str, reason: str) -> None:
        """延期: +10 working days with the agency head's approval, once (Art. 42)."""
        self._check(Command.EXTEND_DEADLINE, ctx)
        if self.extended:
            raise self._refuse(Command.EXTEND_DEADLINE, "the deadline may be extended only once")
        if self.case_type == CaseType.IMMEDIATE.code:
            raise self._refuse(
                Command.EXTEND_DEADLINE, "an immediate case (即办件) cannot be extended"
            )
        payload = {
            "days": EXTENSION_DAYS,
            "approved_by": text(approved_by, "approved_by"),
            "reason": text(reason, "reason"),
        }
        self._append(ev.DeadlineExtended, ctx, payload)

    def conclude(self, ctx: Context, result: ConclusionResult, decision_no: str, note: str) -> None:
        """办结."""
        self._check(Command.CONCLUDE, ctx)
        awaiting = self.status is Status.AWAITING_CORRECTION
        if awaiting != (result is ConclusionResult.NEVER_CORRECTED):
            reason = (
                "a case awaiting correction can only conclude as never corrected (补正不来)"
                if awaiting
                else "only a case awaiting correction concludes as never corrected"
            )
            raise self._refuse(Command.CONCLUDE, reason)
        if result is ConclusionResult.TRANSFERRED:
            raise self._refuse(Command.CONCLUDE, "transfers conclude through a handoff")
        payload = {"result": result.code, "decision_no": decision_no, "note": note}
        self._append(ev.Concluded, ctx, payload)

    # -- after the decision ------------------------------------------------

    def issue_certificate(
        self,
        ctx: Context,
        licence_id: str,
        file_sha256: str,
        valid_from: date,
        valid_until: date | None,
    ) -> None:
        """出证: only for an approved case, once."""
        self._check(Command.ISSUE_CERTIFICATE, ctx)
        if self.result != ConclusionResult.APPROVED.code:
            raise self._refuse(
                Command.ISSUE_CERTIFICATE, "only an approved case gets a certificate"
            )
        if not self.item.get("issues_certificate"):
            raise self._refuse(Command.ISSUE_CERTIFICATE, "the item issues no certificate")
        if self.certificate:
            raise self._refuse(Command.ISSUE_CERTIFICATE, "the certificate was already issued")
        if not _SHA256.match(file_sha256):
            raise InvalidInput.single("file_sha256", "must be 64 lower-case hex digits")
        if valid_until is not None and valid_until < valid_from:
            raise InvalidInput.single("valid_until", "must not be before valid_from")
        payload = {
            "licence_id": text(licence_id, "licence_id"),
            "file_sha256": file_sha256,
            "valid_from": valid_from.isoformat(),
            "valid_until": None if valid_until is None else valid_until.isoformat(),
        }
        self._append(ev.CertificateIssued, ctx, payload)

    def _check_deliverable(self, command: Command, ctx: Context) -> None:
        self._check(command, ctx)
        if self.delivery:
            raise self._refuse(command, "the result was already handed over")
        if (
            self.result == ConclusionResult.APPROVED.code
            and self.item.get("issues_certificate")
            and not self.certificate
        ):
            raise self._refuse(command, "the certificate has not been issued yet")

    def dispatch_by_mail(
        self, ctx: Context, carrier: str, tracking_no: str, address: Sealed
    ) -> None:
        """邮寄送达."""
        self._check_deliverable(Command.DISPATCH_BY_MAIL, ctx)
        payload = {
            "carrier": text(carrier, "carrier"),
            "tracking_no": text(tracking_no, "tracking_no"),
            "address": address.to_json(),
        }
        self._append(ev.DispatchedByMail, ctx, payload)

    def collect_at_window(self, ctx: Context, signer: Sealed) -> None:
        """窗口领取."""
        self._check_deliverable(Command.COLLECT_AT_WINDOW, ctx)
        self._append(ev.CollectedAtWindow, ctx, {"signer": signer.to_json()})

    def confirm_delivery(self, ctx: Context, signer: Sealed, received_on: date) -> None:
        """签收 of a mailed result."""
        self._check(Command.CONFIRM_DELIVERY, ctx)
        if self.delivery != "dispatched":
            raise self._refuse(Command.CONFIRM_DELIVERY, "nothing was dispatched by mail")
        payload = {"signer": signer.to_json(), "received_on": received_on.isoformat()}
        self._append(ev.DeliveryConfirmed, ctx, payload)

    def withdraw(self, ctx: Context, reason: str) -> None:
        """撤件, by the applicant, before conclusion."""
        self._check(Command.WITHDRAW, ctx)
        self._append(ev.Withdrawn, ctx, {"reason": text(reason, "reason")})

    def rate(
        self,
        ctx: Context,
        satisfaction: Satisfaction,
        channel: RatingChannel,
        comment: str,
        details: list[str],
    ) -> None:
        """好差评: once, after conclusion; a bad rating needs a comment or detail."""
        self._check(Command.RATE, ctx)
        if self.rating:
            raise self._refuse(Command.RATE, "the case was already rated")
        if satisfaction.is_bad and not (comment.strip() or any(d.strip() for d in details)):
            raise InvalidInput.single(
                "comment", "a bad rating must carry a comment or a chosen detail"
            )
        payload = {
            "satisfaction": satisfaction.code,
            "label": satisfaction.label,
            "channel": channel.code,
            "comment": comment,
            "details": list(details),
            "bad": satisfaction.is_bad,
        }
        self._append(ev.Rated, ctx, payload)

    def record_rectification(self, ctx: Context, response: str, fix: str) -> None:
        """差评整改."""
        self._check(Command.RECORD_RECTIFICATION, ctx)
        if not self.rectification_open:
            raise self._refuse(Command.RECORD_RECTIFICATION, "no bad rating awaits rectification")
        payload = {"response": text(response, "response"), "fix": text(fix, "fix")}
        self._append(ev.RectificationRecorded, ctx, payload)


def _event_fields(ctx: Context, payload: dict[str, Any], prev: str, hash_: str) -> dict[str, Any]:
    return {
        "node": ctx.node,
        "operator_id": ctx.operator.id,
        "operator_role": ctx.operator.role,
        "request_id": ctx.request_id,
        "request_digest": ctx.request_digest,
        "payload": payload,
        "prev_hash": prev,
        "hash": hash_,
    }
