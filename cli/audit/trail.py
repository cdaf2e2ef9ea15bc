"""Checking a case's trail (办件轨迹) without trusting the node that sent it.

A node sends each event with the exact bytes its hash is over
(`hashed_form`). The checks here use nothing else of the node's: the SHA-256
is recomputed, the bytes are decoded and compared with the event's fields,
versions must run 1..n with no gap, every event must name the case asked for,
and each must chain to the hash of the one before it (the first to 64
zeros). Whoever altered, dropped, reordered or inserted an event has to break
one of these.

The hashed form is the RFC 8785 canonical JSON of
`{case, version, type, occurred_at, node, operator{id, role},
request{id, digest}, payload, prev}`; it is re-encoded here as well, so two
different byte strings can never stand for the same event.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from caseledger.v1 import ledger_pb2

GENESIS = "0" * 64
"""The `prev` of a case's first event."""

FIRST_STAGE = "Submitted"
"""申报/收件: every case's trail begins with it."""


@dataclass(frozen=True)
class EventCheck:
    """The verdict on the event at one position of the trail (1-based)."""

    position: int
    event: ledger_pb2.CaseEvent
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class TrailReport:
    """The verdict on a whole trail: per-event checks plus trail-wide problems."""

    reference: str
    case_id: str
    case_number: str
    checks: tuple[EventCheck, ...]
    problems: tuple[str, ...] = ()

    @property
    def verified(self) -> bool:
        return bool(self.checks) and not self.problems and all(c.ok for c in self.checks)

    @property
    def first_break(self) -> tuple[int | None, str] | None:
        """Where the trail first fails and why: (position, reason), position None if trail-wide."""
        if self.problems:
            return None, self.problems[0]
        for check in self.checks:
            if not check.ok:
                return check.position, check.problems[0]
        return None

    @property
    def last_hash(self) -> str:
        return self.checks[-1].event.hash if self.checks else ""


def verify_trail(response: ledger_pb2.ListCaseEventsResponse, reference: str) -> TrailReport:
    """Check every event of `response`, the trail of the case `reference` (id or number)."""
    events = list(response.events)
    expected_id = _case_id(reference)
    by_number = expected_id is None
    if by_number and events:
        # Asked by number: the first event fixes the id, and its own payload
        # must carry the number asked for (checked with the first event).
        expected_id = _first_case_id(events[0])
    case_id = expected_id or ""
    problems: list[str] = []
    if not events:
        problems.append("the node returned no events")
    if by_number and reference.strip() != response.case_number:
        problems.append(
            f"asked for case {reference!r}, the node answered for {response.case_number!r}"
        )
    checks = []
    prev = GENESIS
    for position, event in enumerate(events, start=1):
        checks.append(
            EventCheck(
                position,
                event,
                tuple(_problems(event, position, case_id, prev, response.case_number)),
            )
        )
        prev = event.hash
    return TrailReport(reference, case_id, response.case_number, tuple(checks), tuple(problems))


def _case_id(text: str) -> str | None:
    try:
        return str(uuid.UUID(text.strip()))
    except ValueError:
        return None


def _first_case_id(event: ledger_pb2.CaseEvent) -> str | None:
    try:
        decoded = json.loads(event.hashed_form)
    except ValueError:
        return None
    case = decoded.get("case") if isinstance(decoded, dict) else None
    return case if isinstance(case, str) else None


def _problems(
    event: ledger_pb2.CaseEvent, position: int, case_id: str, prev: str, number: str
) -> list[str]:
    """What is wrong with one event, most telling first; empty if nothing is."""
    form = bytes(event.hashed_form)
    problems = []
    if hashlib.sha256(form).hexdigest() != event.hash:
        problems.append("hash is not the SHA-256 of the hashed form (the event was altered)")
    try:
        hashed = json.loads(form.decode("utf-8"))
    except ValueError:
        return [*problems, "hashed form is not UTF-8 JSON"]
    if not isinstance(hashed, dict):
        return [*problems, "hashed form is not a JSON object"]
    if hashed.get("version") != position:
        problems.append(
            f"hashed version is {hashed.get('version')!r} at position {position} "
            "(an event is missing, inserted or out of order)"
        )
    if event.version != position:
        problems.append(f"event says version {event.version} at position {position}")
    if hashed.get("case") != case_id:
        problems.append(f"hashed case is {hashed.get('case')!r}, not {case_id!r}")
    if hashed.get("prev") != prev:
        problems.append(_broken_link(position, prev))
    if event.prev_hash != hashed.get("prev"):
        problems.append("prev_hash differs from the hashed prev")
    problems.extend(_field_mismatches(event, hashed))
    if position == 1:
        problems.extend(_first_event_mismatches(hashed, number))
    if not problems and not _is_canonical(hashed, form):
        problems.append("hashed form is not in canonical encoding (RFC 8785)")
    return problems


def _broken_link(position: int, prev: str) -> str:
    if position == 1:
        return "hashed prev does not chain: the first event's prev must be 64 zeros"
    return f"hashed prev does not chain to event {position - 1} (hash {prev[:12]}…)"


def _field_mismatches(event: ledger_pb2.CaseEvent, hashed: dict[str, Any]) -> list[str]:
    """The event's readable fields must say what its hashed form says."""
    problems = []
    if hashed.get("type") != event.stage:
        problems.append(f"stage {event.stage!r} but hashed type {hashed.get('type')!r}")
    if hashed.get("node") != event.node:
        problems.append(f"node {event.node!r} but hashed node {hashed.get('node')!r}")
    operator = {"id": event.operator.id, "role": event.operator.role}
    if hashed.get("operator") != operator:
        problems.append(f"operator {operator} but hashed operator {hashed.get('operator')!r}")
    request = hashed.get("request")
    if not isinstance(request, dict) or request.get("id") != event.request_id:
        problems.append(f"request id {event.request_id!r} differs from the hashed request")
    try:
        payload = json.loads(event.payload_json)
    except ValueError:
        payload = None
    if payload is None or hashed.get("payload") != payload:
        problems.append("payload differs from the hashed payload")
    if not _same_instant(hashed.get("occurred_at"), event):
        problems.append(
            f"time {event.occurred_at.ToJsonString()} but hashed "
            f"occurred_at {hashed.get('occurred_at')!r}"
        )
    return problems


def _same_instant(text: Any, event: ledger_pb2.CaseEvent) -> bool:
    if not isinstance(text, str):
        return False
    try:
        hashed = datetime.fromisoformat(text)
    except ValueError:
        return False
    if hashed.tzinfo is None:
        return False
    return hashed == event.occurred_at.ToDatetime(tzinfo=UTC)


def _first_event_mismatches(hashed: dict[str, Any], number: str) -> list[str]:
    problems = []
    if hashed.get("type") != FIRST_STAGE:
        problems.append(f"the trail begins with {hashed.get('type')!r}, not {FIRST_STAGE}")
        return problems
    payload = hashed.get("payload")
    recorded = payload.get("number") if isinstance(payload, dict) else None
    if recorded != number:
        problems.append(f"the case was submitted as {recorded!r}, not {number!r}")
    return problems


def canonical_json(value: Any) -> bytes:
    """RFC 8785 for the JSON events hold (no floats): members sorted by UTF-16 code units."""
    return json.dumps(
        _sorted_members(value), ensure_ascii=False, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")


def _is_canonical(decoded: Any, form: bytes) -> bool:
    try:
        return canonical_json(decoded) == form
    except ValueError:
        return False


def _sorted_members(value: Any) -> Any:
    if isinstance(value, float):
        # Events hold no floats, and RFC 8785 writes numbers unlike Python.
        raise ValueError("a float has no canonical form in an event")
    if isinstance(value, dict):
        return {
            key: _sorted_members(value[key])
            for key in sorted(value, key=lambda k: k.encode("utf-16-be", "surrogatepass"))
        }
    if isinstance(value, list):
        return [_sorted_members(item) for item in value]
    return value
