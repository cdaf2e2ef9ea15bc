"""Conversions between the ReportService's messages and the projections' types.

The view's codes are the code tables' (docs/domain.md), whose numbers the
API's enums share: a channel, case type, result or satisfaction code is its
enum number, and a status or deadline state its enum name in upper case.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import fields
from datetime import UTC, date, datetime, time, timedelta

from google.protobuf import timestamp_pb2

from caseledger.ledger.case.events import CHINA_TIME, utc_text
from caseledger.ledger.case.stages import Status
from caseledger.ledger.codes.division import Level
from caseledger.ledger.errors import InvalidInput
from caseledger.ledger.timelimits.deadlines import DeadlineStatus
from caseledger.nodes.service.convert import deadline_message
from caseledger.projections import CaseDeadline, Figures
from caseledger.projections.exchange.pull import Page
from caseledger.v1 import report_pb2, types_pb2

__all__ = [
    "channel_code",
    "day_start",
    "deadline_status",
    "exchange_responses",
    "figures_message",
    "level_message",
    "level_of",
    "owner_code",
    "parse_day",
    "reported_case",
    "stage_tables",
    "status_value",
]

_LEVELS = {
    report_pb2.LEVEL_PROVINCE: Level.PROVINCE,
    report_pb2.LEVEL_CITY: Level.CITY,
    report_pb2.LEVEL_COUNTY: Level.COUNTY,
    report_pb2.LEVEL_TOWNSHIP: Level.TOWNSHIP,
}
_LEVEL_MESSAGES = {level: number for number, level in _LEVELS.items()}
_RATES = (
    "on_time_rate",
    "early_rate",
    "average_working_days",
    "immediate_share",
    "compression_rate",
    "online_share",
    "fully_online_share",
    "rectification_rate",
)


def parse_day(text: str, field: str, default: date) -> date:
    """A `YYYY-MM-DD` field; `default` when empty; INVALID_ARGUMENT naming it otherwise."""
    if not text:
        return default
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput.single(field, f"must be a date YYYY-MM-DD, got {text!r}") from None


def day_start(day: date) -> str:
    """The first instant of a Beijing day as the view stores times (UTC text)."""
    return utc_text(datetime.combine(day, time(), CHINA_TIME))


def day_after_start(day: date) -> str:
    return day_start(day + timedelta(days=1))


def level_of(number: int) -> Level | None:
    """The level asked for; None for LEVEL_UNSPECIFIED (an unknown number is refused)."""
    if number == report_pb2.LEVEL_UNSPECIFIED:
        return None
    if number not in _LEVELS:
        raise InvalidInput.single("level", f"unknown level {number}")
    return _LEVELS[report_pb2.Level.ValueType(number)]


def level_message(level: Level) -> report_pb2.Level.ValueType:
    return _LEVEL_MESSAGES[level]


def status_value(number: int) -> str:
    """The view's status text for a CaseStatus ("" for UNSPECIFIED: any)."""
    if number == types_pb2.CASE_STATUS_UNSPECIFIED:
        return ""
    try:
        name = types_pb2.CaseStatus.Name(types_pb2.CaseStatus.ValueType(number))
    except ValueError:
        raise InvalidInput.single("status", f"unknown case status {number}") from None
    return Status[name.removeprefix("CASE_STATUS_")].value


def channel_code(number: int) -> str:
    """The view's channel code for a SubmissionChannel ("" for UNSPECIFIED: any)."""
    if number == types_pb2.SUBMISSION_CHANNEL_UNSPECIFIED:
        return ""
    if number not in types_pb2.SubmissionChannel.values():
        raise InvalidInput.single("channel", f"unknown submission channel {number}")
    return str(number)


def owner_code(text: str) -> str:
    """An owner to filter by: a 12-digit division code, or "" for any."""
    if text and not (len(text) == 12 and text.isascii() and text.isdigit()):
        raise InvalidInput.single("owner", "must be a 12-digit division code")
    return text


def deadline_status(number: int) -> DeadlineStatus | None:
    if number == types_pb2.DEADLINE_STATUS_UNSPECIFIED:
        return None
    try:
        name = types_pb2.DeadlineStatus.Name(types_pb2.DeadlineStatus.ValueType(number))
    except ValueError:
        raise InvalidInput.single("deadline", f"unknown deadline status {number}") from None
    return DeadlineStatus[name.removeprefix("DEADLINE_STATUS_")]


def _stamp(text: str) -> timestamp_pb2.Timestamp | None:
    if not text:
        return None
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(datetime.fromisoformat(text).astimezone(UTC))
    return stamp


def _code(text: str) -> int:
    return int(text) if text.isdigit() else 0


def reported_case(state: CaseDeadline) -> report_pb2.ReportedCase:
    """A case of the view with its deadline state on the day asked about."""
    f = state.facts
    message = report_pb2.ReportedCase(
        case_id=f.case_id,
        case_number=f.number,
        owner=f.owner,
        owners=list(f.owners),
        received_by=f.received_by,
        item_code=f.item_code,
        item_name=f.item_name,
        channel=types_pb2.SubmissionChannel.ValueType(_code(f.channel)),
        status=types_pb2.CaseStatus.Value(f"CASE_STATUS_{f.status.upper()}"),
        case_type=types_pb2.CaseType.ValueType(_code(f.case_type)),
        result=types_pb2.ConclusionResult.ValueType(_code(f.result)),
        statutory_days=f.statutory_days or 0,
        promised_days=f.promised_days or 0,
        extended_days=f.extended_days,
        deadline=deadline_message(state.assessment),
        steps_overdue=list(state.steps_overdue),
        rating=types_pb2.Satisfaction.ValueType(_code(f.rating)),
        rating_bad=f.rating_bad,
        rating_default=f.rating_default,
        version=f.version,
    )
    for name, text in (
        ("submitted_at", f.submitted_at),
        ("accepted_at", f.accepted_at),
        ("concluded_at", f.concluded_at),
        ("certificate_at", f.certificate_at),
        ("delivered_at", f.delivered_at),
        ("rated_at", f.rated_at),
        ("rectified_at", f.rectified_at),
    ):
        stamp = _stamp(text)
        if stamp is not None:
            getattr(message, name).CopyFrom(stamp)
    return message


def figures_message(figures: Figures) -> report_pb2.Figures:
    """Every count, the counters by code, and each rate that has a denominator."""
    message = report_pb2.Figures()
    for field in fields(figures):
        value = getattr(figures, field.name)
        if isinstance(value, Counter):
            _counts(getattr(message, field.name), value)
        else:
            setattr(message, field.name, int(value))
    for rate in _RATES:
        value = getattr(figures, rate)
        if value is not None:
            setattr(message, rate, value)
    return message


def _counts(target: Mapping[str, int], counts: Counter[str]) -> None:
    for code, count in counts.items():
        if count:
            target[code] = count  # type: ignore[index]


_STAGE_TABLES = {
    report_pb2.STAGE_TABLE_ACCEPTANCE: "acceptance",
    report_pb2.STAGE_TABLE_PROCESS: "process",
    report_pb2.STAGE_TABLE_SPECIAL: "special",
    report_pb2.STAGE_TABLE_RESULT: "result",
    report_pb2.STAGE_TABLE_MATERIAL: "material",
}


def stage_tables(table: int) -> list[str]:
    """The stage tables a pull asks for: one, or every one (unspecified)."""
    if table == report_pb2.STAGE_TABLE_UNSPECIFIED:
        return []
    name = _STAGE_TABLES.get(table)  # type: ignore[call-overload]
    if name is None:
        raise InvalidInput.single("table", f"unknown stage table {table}")
    return [name]


def exchange_responses(
    page: Page, resume_from: int, max_bytes: int
) -> list[report_pb2.StreamExchangeResponse]:
    """One page of a pull as responses of at most about `max_bytes` each: a
    table's rows, its columns on its first response (a page of long texts is
    split, so no message nears gRPC's receive limit)."""
    table = page.table
    names = [c.name for c in table.columns]
    columns = [
        report_pb2.ExchangeColumn(name=c.name, field=c.field, integer=c.integer)
        for c in table.columns
    ]
    responses = [
        report_pb2.StreamExchangeResponse(
            table=table.name, columns=columns if page.first else [], resume_from=resume_from
        )
    ]
    size = responses[0].ByteSize()
    for change in page.changes:
        row = report_pb2.ExchangeRow(
            batch=change.batch,
            operation=change.operation,
            values=["" if change.row[n] is None else str(change.row[n]) for n in names],
        )
        grown = row.ByteSize() + 8  # the field's tag and length
        if responses[-1].rows and size + grown > max_bytes:
            responses.append(
                report_pb2.StreamExchangeResponse(table=table.name, resume_from=resume_from)
            )
            size = responses[-1].ByteSize()
        responses[-1].rows.append(row)
        size += grown
    return responses
