"""The common ground of the `Case` aggregate (办件): inputs, checks and the chain.

A command method checks ownership, the transition table (`stages.ALLOWED`)
and its own guards before it triggers anything, so a refused command leaves
the case exactly as it was. Field-level validation of the command's inputs
also happens before any event exists: bad input writes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self
from uuid import UUID

from eventsourcing.domain import Aggregate

from caseledger.ledger.case import events as ev
from caseledger.ledger.case.stages import ALLOWED, Command
from caseledger.ledger.codes.vocabulary import (
    ApplicantType,
    SubmissionChannel,
)
from caseledger.ledger.errors import IllegalTransition, InvalidInput, NotOwner, RequestReused
from caseledger.ledger.personal.sealing import Sealed
from caseledger.ledger.trail.canonical import GENESIS, digest

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_PRE_REVIEWED_CHANNELS = frozenset({SubmissionChannel.ONLINE, SubmissionChannel.MOBILE})


@dataclass(frozen=True)
class Authentication:
    """Who vouched for the operator: the verified token's issuer and key id, the
    subject it names and the division it serves (a machine account acting for the
    operator, or the operator themself)."""

    issuer: str
    key_id: str
    subject: str
    division: str

    def to_json(self) -> dict[str, str]:
        return {
            "issuer": self.issuer,
            "key_id": self.key_id,
            "subject": self.subject,
            "division": self.division,
        }


@dataclass(frozen=True)
class Operator:
    """The person (or system) acting, recorded in every event; `authentication` is
    what vouched for them, where the node verified a token (recorded in the event's
    payload as `authenticated`, inside the hash)."""

    id: str
    role: str
    authentication: Authentication | None = None


def vouched(payload: dict[str, Any], operator: Operator) -> dict[str, Any]:
    """The payload with who vouched for its operator, when a token did."""
    if operator.authentication is None:
        return payload
    return {**payload, "authenticated": operator.authentication.to_json()}


@dataclass(frozen=True)
class Context:
    """Who, where, when and for which client request a command runs."""

    node: str
    operator: Operator
    at: datetime
    request_id: str
    request_digest: str
    # True when `at` was read from the node's own clock when the request came
    # in: the ledger may then move it up to the case's last event, because a
    # concurrent command on the same case can commit first with a later time.
    node_clock: bool = False


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
        if not SHA256_HEX.match(material.sha256):
            raise InvalidInput.single(
                f"{field}[{index}].sha256", "must be 64 lower-case hex digits"
            )
        out.append({"name": material.name, "sha256": material.sha256})
    return out


def _sealed(value: Sealed | None) -> dict[str, str] | None:
    return None if value is None else value.to_json()


def check_context(ctx: Context) -> None:
    text(ctx.operator.id, "operator.id")
    text(ctx.operator.role, "operator.role")
    text(ctx.request_id, "request_id")
    if ctx.at.tzinfo is None:
        raise InvalidInput.single("occurred_at", "must carry a time zone")


class CaseBase(ev.CaseState, Aggregate):
    """What every command of a case shares: ownership, the transition table, the chain."""

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
    ) -> Self:
        """申报/收件: open a case at the receiving node, which becomes its owner."""
        check_context(ctx)
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
        payload = vouched(payload, ctx.operator)
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
        return self.owner == node and not self.transfer_to

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
        check_context(ctx)
        if ctx.node != self.owner:
            raise NotOwner(self.number, self.owner, ctx.node)
        if self.transfer_to:
            raise self._refuse(command, f"the case is being handed over to {self.transfer_to}")
        self._check_time(ctx)
        if self.status not in ALLOWED[command]:
            raise self._refuse(command, "not allowed in this status")

    def _check_time(self, ctx: Context) -> None:
        if ctx.at < self.modified_on:
            raise InvalidInput.single("occurred_at", "must not be before the case's last event")

    def _refuse(self, command: Command, reason: str) -> IllegalTransition:
        return IllegalTransition(command.value, self.status.value, reason)

    def _append(
        self, event_class: type[ev.CaseEvent], ctx: Context, payload: dict[str, Any]
    ) -> None:
        payload = vouched(payload, ctx.operator)
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
