"""Every fact a case's trail records, read from the events the node sends.

`GetCase` answers with where a case stands; what was recorded on the way
(materials, steps with handlers and opinions, decision number, tracking
number, suspension reasons, a rating and its rectification) is only in the
events' payloads, so `case show` reads the trail too. Personal data stays
sealed in the payloads and is shown as `[sealed]`: the node unmasks nothing
through the trail.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from caseledger.cli.output import beijing_time
from caseledger.cli.vocabulary import (
    CASE_TYPES,
    CONCLUSION_RESULTS,
    RATING_CHANNELS,
    SATISFACTIONS,
    SPECIAL_PROCEDURE_KINDS,
    SUBMISSION_CHANNELS,
    label_of_code,
    stage_label,
)
from caseledger.v1 import ledger_pb2

SEALED = "[sealed]"


@dataclass(frozen=True)
class Entry:
    """One event of the trail as an operator reads it."""

    version: int
    stage: str
    at: str
    node: str
    operator: str
    what: str
    content: dict[str, Any]

    @property
    def label(self) -> str:
        return stage_label(self.stage)


def content_of(event: ledger_pb2.CaseEvent) -> dict[str, Any]:
    """An event's payload as recorded (personal data sealed); empty if unreadable."""
    try:
        payload = json.loads(event.payload_json)
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def record(events: list[ledger_pb2.CaseEvent]) -> list[Entry]:
    return [
        Entry(
            version=event.version,
            stage=event.stage,
            at=beijing_time(event.occurred_at),
            node=event.node,
            operator=f"{event.operator.id}/{event.operator.role}",
            what=describe(event.stage, content_of(event)),
            content=content_of(event),
        )
        for event in events
    ]


def describe(stage: str, payload: Mapping[str, Any]) -> str:
    """The payload of one stage in one line; unknown stages list their fields."""
    describer = _DESCRIBERS.get(stage)
    if describer is None:
        return "; ".join(f"{key} {_text(value)}" for key, value in sorted(payload.items()))
    return describer(payload)


def _text(value: Any) -> str:
    if isinstance(value, dict) and "sealed" in value:
        return SEALED
    if value is None or value == "":
        return "-"
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value) or "-"
    return str(value)


def _materials(payload: Mapping[str, Any]) -> str:
    materials = payload.get("materials") or []
    return "materials: " + (
        "; ".join(f"{m.get('name')} (sha256 {str(m.get('sha256', ''))[:12]}…)" for m in materials)
        or "-"
    )


def _submitted(p: Mapping[str, Any]) -> str:
    item = p.get("item") or {}
    channel = label_of_code(SUBMISSION_CHANNELS, str(p.get("channel", "")))
    return (
        f"item {item.get('implementation_code', '-')} {item.get('name', '')}; "
        f"channel {channel}; applicant {SEALED}; {_materials(p)}"
    )


def _correction(p: Mapping[str, Any]) -> str:
    listed = p.get("materials") or []
    return "to supply or correct: " + "; ".join(
        f"{m.get('name')}: {m.get('reason')}" for m in listed
    )


def _accepted(p: Mapping[str, Any]) -> str:
    case_type = label_of_code(CASE_TYPES, str(p.get("case_type", "")))
    return (
        f"notice {_text(p.get('notice_no'))}; {case_type}; statutory "
        f"{p.get('statutory_days')} / promised {p.get('promised_days')} working days"
    )


def _step(p: Mapping[str, Any]) -> str:
    action = {"pass": "passed on 通过", "return": "returned 退回"}.get(str(p.get("action")), "")
    return (
        f"{_text(p.get('step'))} by {_text(p.get('handler'))}: {action}; "
        f"opinion {_text(p.get('opinion'))}"
    )


def _special(p: Mapping[str, Any]) -> str:
    kind = label_of_code(SPECIAL_PROCEDURE_KINDS, str(p.get("kind", "")))
    return f"{kind}; reason {_text(p.get('reason'))}"


def _concluded(p: Mapping[str, Any]) -> str:
    result = label_of_code(CONCLUSION_RESULTS, str(p.get("result", "")))
    return f"{result}; decision no. {_text(p.get('decision_no'))}; note {_text(p.get('note'))}"


def _certificate(p: Mapping[str, Any]) -> str:
    until = p.get("valid_until") or "no expiry"
    return (
        f"licence {_text(p.get('licence_id'))}; valid {p.get('valid_from')} to {until}; "
        f"file sha256 {str(p.get('file_sha256', ''))[:12]}…"
    )


def _rated(p: Mapping[str, Any]) -> str:
    satisfaction = label_of_code(SATISFACTIONS, str(p.get("satisfaction", "")))
    channel = label_of_code(RATING_CHANNELS, str(p.get("channel", "")))
    bad = "; 差评 bad rating: rectification required" if p.get("bad") else ""
    return (
        f"{satisfaction} via {channel}; comment {_text(p.get('comment'))}; "
        f"details {_text(p.get('details'))}{bad}"
    )


def _transfer(p: Mapping[str, Any]) -> str:
    kind = {"up": "转报 up", "down": "下发 down", "sideways": "跨域 sideways"}.get(
        str(p.get("kind")), str(p.get("kind"))
    )
    return f"to {p.get('target')} ({kind}); reason {_text(p.get('reason'))}"


def _field(name: str, *, label: str | None = None) -> Callable[[Mapping[str, Any]], str]:
    return lambda p: f"{label or name} {_text(p.get(name))}"


_DESCRIBERS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "Submitted": _submitted,
    "PreReviewPassed": _field("opinion"),
    "PreReviewReturned": _field("reason"),
    "CorrectionRequested": _correction,
    "MaterialsSupplemented": _materials,
    "Accepted": _accepted,
    "AcceptanceRefused": lambda p: (
        f"notice {_text(p.get('notice_no'))}; reason {_text(p.get('reason'))}; "
        f"legal basis {_text(p.get('legal_basis'))}"
    ),
    "StepRecorded": _step,
    "SpecialProcedureStarted": _special,
    "SpecialProcedureEnded": _field("outcome"),
    "Suspended": _field("reason"),
    "Resumed": _field("note"),
    "DeadlineExtended": lambda p: (
        f"+{p.get('days')} working days, approved by {_text(p.get('approved_by'))}; "
        f"reason {_text(p.get('reason'))}"
    ),
    "Concluded": _concluded,
    "CertificateIssued": _certificate,
    "DispatchedByMail": lambda p: (
        f"{_text(p.get('carrier'))} tracking no. {_text(p.get('tracking_no'))}; address {SEALED}"
    ),
    "CollectedAtWindow": lambda p: f"signed by {SEALED}",
    "DeliveryConfirmed": lambda p: f"received on {_text(p.get('received_on'))}, signed by {SEALED}",
    "Withdrawn": _field("reason"),
    "Rated": _rated,
    "RectificationRecorded": lambda p: (
        f"response {_text(p.get('response'))}; fix {_text(p.get('fix'))}"
    ),
    "TransferRequested": _transfer,
    "TransferAccepted": lambda p: f"taken over from {_text(p.get('from'))}",
    "TransferRejected": lambda p: (
        f"declined, stays with {_text(p.get('from'))}; reason {_text(p.get('reason'))}"
    ),
}


def rectification_text(entries: list[Entry], open_now: bool) -> str:
    """整改 as the trail has it: a rectified bad rating must not read like an unrated case."""
    rated = next((e for e in entries if e.stage == "Rated"), None)
    done = next((e for e in entries if e.stage == "RectificationRecorded"), None)
    if open_now:
        return "open: a bad rating awaits rectification"
    if done is not None:
        return f"done {done.at}: {done.what}"
    if rated is not None and not rated.content.get("bad"):
        return "not needed (not a bad rating)"
    return "-"
