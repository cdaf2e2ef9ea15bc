"""Conversions between caseledger.v1 messages and ledger types, in one place.

Proto enum numbers equal the GB/T 39046 codes of the ledger's code tables,
except item type 00 (administrative power), which is 100 on the wire
because 0 is reserved for "unspecified".
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import date, datetime, tzinfo
from typing import TypeVar

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from caseledger.ledger.case.aggregate import Case, Material, materials_json
from caseledger.ledger.case.events import CaseEvent, china_date
from caseledger.ledger.catalogue import ItemTerms
from caseledger.ledger.codes.identifiers import ItemImplementationCode
from caseledger.ledger.codes.vocabulary import (
    ApplicantType,
    CaseType,
    CodeTable,
    ConclusionResult,
    ExercisingLevel,
    ItemType,
    Satisfaction,
    SubmissionChannel,
)
from caseledger.ledger.errors import FieldViolation, InvalidInput
from caseledger.ledger.intake import ApplicantForm
from caseledger.ledger.personal.sealing import Sealed
from caseledger.ledger.timelimits.calendar import WorkingCalendar
from caseledger.ledger.timelimits.deadlines import (
    ClockMark,
    DeadlineAssessment,
    DeadlineStatus,
    TimeLimits,
    assess,
)
from caseledger.ledger.trail.canonical import canonical_json
from caseledger.v1 import ledger_pb2, types_pb2

_Table = TypeVar("_Table", bound=CodeTable)
_Parsed = TypeVar("_Parsed")
_ADMINISTRATIVE_POWER_WIRE = 100
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_CASE_NUMBER_LENGTH = 50  # docs/domain.md: no national format, up to 50 characters
# The ledger names a command's context as `Context` does; on the wire it is `meta`.
_META_PATHS = {
    "request_id": "meta.request_id",
    "operator.id": "meta.operator.id",
    "operator.role": "meta.operator.role",
    "occurred_at": "meta.occurred_at",
}


class Violations:
    """The field violations of several independent checks, reported together."""

    def __init__(self) -> None:
        self.found: list[FieldViolation] = []

    def check(self, parse: Callable[[], _Parsed]) -> _Parsed | None:
        """`parse()`, or None with its violations kept."""
        try:
            return parse()
        except InvalidInput as error:
            self.found.extend(error.violations)
            return None

    def add(self, field: str, reason: str) -> None:
        self.found.append(FieldViolation(field, reason))

    def raise_any(self) -> None:
        if self.found:
            raise InvalidInput(*self.found)


def in_request_paths(error: InvalidInput) -> InvalidInput:
    """The same violations, context fields named by their path in the request."""
    return InvalidInput(
        *(FieldViolation(_META_PATHS.get(v.field, v.field), v.reason) for v in error.violations)
    )


_WHITESPACE = re.compile(r"\s")


def case_reference(text: str) -> str:
    """A case id (UUID) or case number as a request names it; whether such a
    case exists is the ledger's to say (NOT_FOUND)."""
    if not text.strip():
        raise InvalidInput.single("case", "must be a case id or case number")
    if not text.isprintable() or _WHITESPACE.search(text):
        raise InvalidInput.single(
            "case", "must be a case id or case number without spaces or control characters"
        )
    if len(text) > _CASE_NUMBER_LENGTH:
        raise InvalidInput.single(
            "case",
            f"must be a case id or case number; a case number has at most "
            f"{_CASE_NUMBER_LENGTH} characters, got {len(text)}",
        )
    return text


def moment(stamp: Timestamp, zone: tzinfo | None, field: str) -> datetime:
    try:
        return stamp.ToDatetime(tzinfo=zone)
    except (ValueError, OverflowError) as error:
        raise InvalidInput.single(field, f"must be a valid timestamp: {error}") from None


def item_code(text: str, field: str) -> ItemImplementationCode:
    if not text.strip():
        raise InvalidInput.single(field, "must not be empty")
    return ItemImplementationCode.parse(text, field)


def applicant_form(message: ledger_pb2.Applicant) -> ApplicantForm:
    return ApplicantForm(
        type=code_of(message.type, ApplicantType, "applicant.type"),
        name=message.name,
        id_number=message.id_number,
        phone=message.phone,
        address=message.address,
    )


def code_of(number: int, table: type[_Table], field: str) -> _Table:
    """The code-table member for a proto enum number; 0 means the field is missing."""
    if number == 0:
        raise InvalidInput.single(field, "must be set")
    if table is ItemType:
        code = "00" if number == _ADMINISTRATIVE_POWER_WIRE else f"{number:02d}"
    else:
        code = str(number)
    return table.from_code(code, field)


def number_of(member: CodeTable) -> int:
    if isinstance(member, ItemType) and member.code == "00":
        return _ADMINISTRATIVE_POWER_WIRE
    return int(member.code)


def parse_date(text: str, field: str, *, optional: bool = False) -> date | None:
    if not text and optional:
        return None
    # `fromisoformat` also takes 20260325 and 2026-W13-3; the API says YYYY-MM-DD.
    if not _ISO_DATE.match(text):
        raise InvalidInput.single(field, "must be a date as YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput.single(
            field, f"must be a date as YYYY-MM-DD; {text} is no day"
        ) from None


def required_date(text: str, field: str) -> date:
    parsed = parse_date(text, field)
    assert parsed is not None
    return parsed


def materials(messages: list[types_pb2.Material]) -> list[Material]:
    return [Material(m.name, m.sha256) for m in messages]


def material_violations(messages: list[types_pb2.Material], field: str) -> list[FieldViolation]:
    """What is wrong with each material, by the ledger's rules, all at once."""
    if not messages:
        return [FieldViolation(field, "at least one material is required")]
    found: list[FieldViolation] = []
    for index, message in enumerate(messages):
        try:
            materials_json([Material(message.name, message.sha256)], field)
        except InvalidInput as error:
            # Checked alone, every material is the first: renumber it.
            found.extend(
                FieldViolation(f"{field}[{index}]" + v.field.removeprefix(f"{field}[0]"), v.reason)
                for v in error.violations
            )
    return found


def request_digest(request: Message) -> str:
    """What identifies a request's content: its deterministic encoding without
    the request id, so a retry with the same content has the same digest."""
    copy = type(request)()
    copy.CopyFrom(request)
    meta = getattr(copy, "meta", None)
    if meta is not None:
        meta.request_id = ""
    return hashlib.sha256(copy.SerializeToString(deterministic=True)).hexdigest()


def timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


# -- catalogue -----------------------------------------------------------------


def item_terms(message: ledger_pb2.ItemTerms) -> ItemTerms:
    violations: list[FieldViolation] = []

    def attempt(parse: object, field: str) -> object:
        try:
            return parse() if callable(parse) else parse
        except InvalidInput as error:
            violations.extend(
                FieldViolation(
                    f"terms.{v.field}" if not v.field.startswith("terms.") else v.field, v.reason
                )
                for v in error.violations
            )
            return None

    code = attempt(
        lambda: item_code(message.implementation_code, "implementation_code"),
        "implementation_code",
    )
    item_type = attempt(lambda: code_of(message.item_type, ItemType, "item_type"), "item_type")
    level = attempt(
        lambda: code_of(message.exercising_level, ExercisingLevel, "exercising_level"),
        "exercising_level",
    )
    case_type = attempt(lambda: code_of(message.case_type, CaseType, "case_type"), "case_type")
    limits = attempt(lambda: TimeLimits(message.statutory_days, message.promised_days), "limits")
    if violations:
        raise InvalidInput(*violations)
    assert isinstance(code, ItemImplementationCode)
    assert isinstance(item_type, ItemType)
    assert isinstance(level, ExercisingLevel)
    assert isinstance(case_type, CaseType)
    assert isinstance(limits, TimeLimits)
    terms = ItemTerms(
        implementation_code=code,
        name=message.name,
        item_type=item_type,
        exercising_level=level,
        case_type=case_type,
        limits=limits,
        required_materials=tuple(message.required_materials),
        issues_certificate=message.issues_certificate,
    )
    try:
        terms.validate()
    except InvalidInput as error:
        raise error.under("terms") from None
    return terms


def item_terms_message(terms: ItemTerms) -> ledger_pb2.ItemTerms:
    return ledger_pb2.ItemTerms(
        implementation_code=str(terms.implementation_code),
        name=terms.name,
        item_type=number_of(terms.item_type),  # type: ignore[arg-type]
        exercising_level=number_of(terms.exercising_level),  # type: ignore[arg-type]
        case_type=number_of(terms.case_type),  # type: ignore[arg-type]
        statutory_days=terms.limits.statutory_days,
        promised_days=terms.limits.promised_days,
        required_materials=list(terms.required_materials),
        issues_certificate=terms.issues_certificate,
    )


# -- case views ----------------------------------------------------------------

_DEADLINE = {
    DeadlineStatus.NOT_STARTED: types_pb2.DEADLINE_STATUS_NOT_STARTED,
    DeadlineStatus.ON_TIME: types_pb2.DEADLINE_STATUS_ON_TIME,
    DeadlineStatus.WARNING: types_pb2.DEADLINE_STATUS_WARNING,
    DeadlineStatus.YELLOW: types_pb2.DEADLINE_STATUS_YELLOW,
    DeadlineStatus.RED: types_pb2.DEADLINE_STATUS_RED,
    DeadlineStatus.CONCLUDED_ON_TIME: types_pb2.DEADLINE_STATUS_CONCLUDED_ON_TIME,
    DeadlineStatus.CONCLUDED_LATE: types_pb2.DEADLINE_STATUS_CONCLUDED_LATE,
}


def _iso(day: date | None) -> str:
    return "" if day is None else day.isoformat()


def deadline_of(case: Case, calendar: WorkingCalendar, as_of: date) -> DeadlineAssessment | None:
    if case.limits is None:
        return None
    return assess(calendar, case.limits, case.marks, as_of)


def deadline_message(found: DeadlineAssessment | None) -> ledger_pb2.Deadline:
    if found is None:
        return ledger_pb2.Deadline(status=types_pb2.DEADLINE_STATUS_NOT_STARTED)
    return ledger_pb2.Deadline(
        status=_DEADLINE[found.status],
        working_days_used=found.working_days_used,
        promised_due=_iso(found.promised_due),
        statutory_due=_iso(found.statutory_due),
        days_remaining=found.days_remaining,
        clock_stopped=found.stopped,
        extended_by=found.extended_by,
        provisional=found.provisional,
        provisional_year=found.provisional_year or 0,
    )


ERASED = "[erased]"  # the data subject's key was destroyed (crypto-shredding)
SEALED_ELSEWHERE = "[sealed]"  # sealed under a key held by the node that received it


def case_view(
    case: Case, applicant_name: str, calendar: WorkingCalendar, now: datetime
) -> ledger_pb2.CaseView:
    """The case as a reporting system sees it; `applicant_name` already masked."""
    return ledger_pb2.CaseView(
        case_id=str(case.id),
        case_number=case.number,
        owner=case.owner,
        status=types_pb2.CaseStatus.Value(f"CASE_STATUS_{case.status.name}"),
        item_code=case.item.get("implementation_code", ""),
        item_name=case.item.get("name", ""),
        channel=number_of(SubmissionChannel.from_code(case.channel)),  # type: ignore[arg-type]
        applicant_name=applicant_name,
        case_type=int(case.case_type) if case.case_type else 0,  # type: ignore[arg-type]
        deadline=deadline_message(deadline_of(case, calendar, china_date(now))),
        result=number_of(ConclusionResult.from_code(case.result)) if case.result else 0,  # type: ignore[arg-type]
        licence_id=case.certificate,
        delivery=case.delivery,
        satisfaction=number_of(Satisfaction.from_code(case.rating)) if case.rating else 0,  # type: ignore[arg-type]
        rectification_open=case.rectification_open,
        version=case.version,
        last_hash=case.last_hash,
        transfer_to=case.transfer_to,
        owners=list(case.owners),
        submitted_at=timestamp(case.created_on),
        updated_at=timestamp(case.modified_on),
    )


def applicant_name_sealed(trail: list[CaseEvent]) -> Sealed:
    return Sealed.from_json(trail[0].payload["applicant"]["name"])


def event_messages(trail: list[CaseEvent], calendar: WorkingCalendar) -> list[ledger_pb2.CaseEvent]:
    """The trail with the exact hashed bytes and the working days used at each event."""
    out = []
    marks: list[ClockMark] = []
    limits: TimeLimits | None = None
    replayed: Case | None = None
    for event in trail:
        replayed = event.mutate(replayed)
        assert isinstance(replayed, Case)
        limits, marks = replayed.limits, list(replayed.marks)
        used = 0
        if limits is not None:
            used = assess(calendar, limits, marks, event.on).working_days_used
        out.append(
            ledger_pb2.CaseEvent(
                version=event.originator_version,
                stage=event.stage,
                occurred_at=timestamp(event.timestamp),
                node=event.node,
                operator=types_pb2.Operator(id=event.operator_id, role=event.operator_role),
                request_id=event.request_id,
                payload_json=json.dumps(event.payload, ensure_ascii=False, sort_keys=True),
                prev_hash=event.prev_hash,
                hash=event.hash,
                hashed_form=canonical_json(event.hashed_form()),
                working_days_used=used,
            )
        )
    return out
