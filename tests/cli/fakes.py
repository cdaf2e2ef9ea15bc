"""Stand-ins for a node: a recording ledger stub, rich-status errors, hand-built trails.

Trails are encoded with the ledger's own canonical encoder, a separate
implementation from the command line's verifier, so the two check each other.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import grpc
from google.protobuf import any_pb2, message
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from caseledger.ledger.trail.canonical import GENESIS, canonical_json
from caseledger.v1 import ledger_pb2, ledger_pb2_grpc, types_pb2
from tests.samples import FOOD_LICENCE

ITEM_DOCUMENT: dict[str, Any] = {
    "implementation_code": FOOD_LICENCE,
    "name": "食品经营许可证核发",
    "item_type": "01",
    "exercising_level": "4",
    "case_type": "2",
    "statutory_days": 20,
    "promised_days": 10,
    "required_materials": ["食品经营许可申请书", "营业执照复印件"],
    "issues_certificate": True,
}
"""An item file's content, as `catalogue publish` reads it (食品经营许可)."""

CASE_ID = "6f1c9a52-3b7e-5d4a-9c1e-2a8b7f0d3e41"
CASE_NUMBER = "370102260302000001"
LIXIA = "370102000000"
_SERVICE = ledger_pb2.DESCRIPTOR.services_by_name["LedgerService"]


@dataclass
class FakeLedger:
    """Records every call; answers with `answers[rpc]` (a message or an error to raise)."""

    answers: dict[str, message.Message | Exception] = field(default_factory=dict)
    calls: list[tuple[str, message.Message]] = field(default_factory=list)

    def __getattr__(self, rpc: str) -> Callable[..., message.Message]:
        if rpc not in _SERVICE.methods_by_name:
            raise AttributeError(rpc)

        def call(request: message.Message, timeout: float | None = None) -> message.Message:
            self.calls.append((rpc, request))
            answer = self.answers.get(rpc)
            if isinstance(answer, Exception):
                raise answer
            if answer is not None:
                return answer
            return default_response(rpc)

        return call

    def connect(self, address: str) -> ledger_pb2_grpc.LedgerServiceStub:
        return cast(ledger_pb2_grpc.LedgerServiceStub, self)

    def only_request(self) -> Any:
        assert len(self.calls) == 1, self.calls
        return self.calls[0][1]


def default_response(rpc: str) -> message.Message:
    response_type = getattr(ledger_pb2, _SERVICE.methods_by_name[rpc].output_type.name)
    response: Any = response_type()
    if "result" in response_type.DESCRIPTOR.fields_by_name:
        response.result.CopyFrom(
            types_pb2.CommandResult(case_id=CASE_ID, case_number=CASE_NUMBER, version=2)
        )
    return cast(message.Message, response)


class FailedCall(grpc.RpcError, grpc.Call):
    """A failed unary call as grpc raises it: an error that is also the call."""

    def __init__(
        self, code: grpc.StatusCode, text: str, trailing: Sequence[tuple[str, Any]] = ()
    ) -> None:
        self._code = code
        self._text = text
        self._trailing = tuple(trailing)

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._text

    def trailing_metadata(self) -> Any:
        return self._trailing

    def initial_metadata(self) -> Any:
        return ()

    def is_active(self) -> bool:
        return False

    def time_remaining(self) -> float:
        return 0.0

    def cancel(self) -> bool:
        return False

    def add_callback(self, callback: Any) -> bool:
        return False


def rich_error(code: grpc.StatusCode, text: str, *details: message.Message) -> FailedCall:
    """A failed call carrying a google.rpc.Status with `details`, as the node sends it."""
    packed = []
    for detail in details:
        holder = any_pb2.Any()
        holder.Pack(detail)
        packed.append(holder)
    status = status_pb2.Status(code=code.value[0], message=text, details=packed)
    grpc_status = rpc_status.to_status(status)
    return FailedCall(code, text, grpc_status.trailing_metadata)


def error_info(reason: str) -> error_details_pb2.ErrorInfo:
    return error_details_pb2.ErrorInfo(reason=reason, domain="caseledger.v1")


# -- trails ------------------------------------------------------------------

_START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
_STAGES = ("Submitted", "Accepted", "StepRecorded", "Concluded", "CertificateIssued")


def hashed_form(
    version: int,
    stage: str,
    prev: str,
    payload: dict[str, Any],
    *,
    case: str = CASE_ID,
    at: datetime | None = None,
) -> dict[str, Any]:
    moment = at or _START + timedelta(minutes=version)
    return {
        "case": case,
        "version": version,
        "type": stage,
        "occurred_at": moment.isoformat(timespec="microseconds"),
        "node": LIXIA,
        "operator": {"id": "op-1", "role": "window_clerk"},
        "request": {"id": f"req-{version}", "digest": f"d-{version}"},
        "payload": payload,
        "prev": prev,
    }


def event_from(form: dict[str, Any], encoded: bytes | None = None) -> ledger_pb2.CaseEvent:
    """The event a node sends for `form`, hashed over `encoded` (by default canonical)."""
    raw = canonical_json(form) if encoded is None else encoded
    event = ledger_pb2.CaseEvent(
        version=form["version"],
        stage=form["type"],
        node=form["node"],
        operator=types_pb2.Operator(id=form["operator"]["id"], role=form["operator"]["role"]),
        request_id=form["request"]["id"],
        payload_json=canonical_json(form["payload"]).decode(),
        prev_hash=form["prev"],
        hash=hashlib.sha256(raw).hexdigest(),
        hashed_form=raw,
        working_days_used=max(0, form["version"] - 2),
    )
    event.occurred_at.FromDatetime(datetime.fromisoformat(form["occurred_at"]))
    return event


def payload_for(version: int, stage: str) -> dict[str, Any]:
    if stage == "Submitted":
        return {"number": CASE_NUMBER, "channel": "1", "materials": []}
    return {"note": f"{stage} 第{version}步", "nested": {"b": [1, 2], "a": None}}


def good_trail(length: int = 5) -> ledger_pb2.ListCaseEventsResponse:
    """A well-formed trail of `length` events of case `CASE_ID`."""
    events = []
    prev = GENESIS
    for version in range(1, length + 1):
        stage = _STAGES[(version - 1) % len(_STAGES)]
        event = event_from(hashed_form(version, stage, prev, payload_for(version, stage)))
        events.append(event)
        prev = event.hash
    return ledger_pb2.ListCaseEventsResponse(events=events, case_number=CASE_NUMBER)


def rechained(forms: Sequence[dict[str, Any]]) -> ledger_pb2.ListCaseEventsResponse:
    """A trail made of `forms` with each prev rewritten to chain: what a forger would do."""
    events = []
    prev = GENESIS
    for form in forms:
        event = event_from({**form, "prev": prev})
        events.append(event)
        prev = event.hash
    return ledger_pb2.ListCaseEventsResponse(events=events, case_number=CASE_NUMBER)


def forms_of(response: ledger_pb2.ListCaseEventsResponse) -> list[dict[str, Any]]:
    return [json.loads(event.hashed_form) for event in response.events]
