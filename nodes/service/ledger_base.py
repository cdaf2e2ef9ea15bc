"""The common path of the LedgerService: every command goes through `_command`.

Check the request's meta -> build the command context -> `CaseLedger.execute`
(retry-safe, atomic) -> `CommandResult`. Ledger errors become rich statuses
in `status.py`, and nowhere else.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol, TypeAlias, TypeVar

import grpc
import structlog
from eventsourcing.persistence import OperationalError
from google.protobuf.message import Message

from caseledger.ledger.application import CaseLedger, Outcome, utc_now
from caseledger.ledger.case.aggregate import Case, Context, Operator
from caseledger.ledger.errors import InvalidInput, LedgerError
from caseledger.ledger.personal.case_index import CaseIndex
from caseledger.ledger.personal.sealing import Sealed
from caseledger.ledger.timelimits.calendar import WorkingCalendar
from caseledger.nodes.handoff.handover import Handoffs
from caseledger.nodes.metrics import Metrics
from caseledger.nodes.service import convert
from caseledger.nodes.service.applicants import ApplicantsFollower
from caseledger.nodes.service.gate import Gate
from caseledger.nodes.service.licences import LicencesFollower
from caseledger.nodes.service.status import status_of, store_unavailable_status
from caseledger.v1 import ledger_pb2, ledger_pb2_grpc, types_pb2

_log = structlog.get_logger("caseledger.nodes.ledger")
_Response = TypeVar("_Response")
_Response_co = TypeVar("_Response_co", covariant=True)
STEP_ACTIONS = {types_pb2.STEP_ACTION_PASS: "pass", types_pb2.STEP_ACTION_RETURN: "return"}


# The requests that take the one path of `_command`: each names its case and
# carries a `CommandMeta`.
CaseCommandRequest: TypeAlias = (
    ledger_pb2.PassPreReviewRequest
    | ledger_pb2.ReturnPreReviewRequest
    | ledger_pb2.RequestCorrectionRequest
    | ledger_pb2.SupplementMaterialsRequest
    | ledger_pb2.AcceptRequest
    | ledger_pb2.RefuseAcceptanceRequest
    | ledger_pb2.RecordStepRequest
    | ledger_pb2.StartSpecialProcedureRequest
    | ledger_pb2.EndSpecialProcedureRequest
    | ledger_pb2.SuspendRequest
    | ledger_pb2.ResumeRequest
    | ledger_pb2.ExtendDeadlineRequest
    | ledger_pb2.ConcludeRequest
    | ledger_pb2.IssueCertificateRequest
    | ledger_pb2.DispatchByMailRequest
    | ledger_pb2.CollectAtWindowRequest
    | ledger_pb2.ConfirmDeliveryRequest
    | ledger_pb2.WithdrawRequest
    | ledger_pb2.RateRequest
    | ledger_pb2.RecordRectificationRequest
    | ledger_pb2.TransferRequest
)


class CommandResponse(Protocol[_Response_co]):
    """A case command's response message, built from its `CommandResult`."""

    def __call__(self, *, result: types_pb2.CommandResult) -> _Response_co: ...


@dataclass(frozen=True)
class LedgerSettings:
    allow_client_time: bool
    calendar: WorkingCalendar
    clock: Callable[[], datetime] = utc_now


def request_digest(request: Message) -> str:
    """What identifies a request: its content (`convert.request_digest`) and its
    type, so the same fields sent to another command (Suspend and Withdraw both
    carry meta, case and reason) are another request, not a retry."""
    typed = f"{request.DESCRIPTOR.full_name}\n{convert.request_digest(request)}"
    return hashlib.sha256(typed.encode()).hexdigest()


class LedgerServiceBase(ledger_pb2_grpc.LedgerServiceServicer):
    """What every RPC handler shares; the handlers live in the subclasses."""

    def __init__(
        self,
        ledger: CaseLedger,
        settings: LedgerSettings,
        metrics: Metrics,
        handoffs: Handoffs,
        gate: Gate | None = None,
        *,
        index: CaseIndex | None = None,
    ) -> None:
        self._ledger = ledger
        # Kept in memory when none is given (a node's is `<code>.index.sqlite`).
        self._index = index if index is not None else CaseIndex()
        self._applicants = ApplicantsFollower(ledger, self._index)
        self._licences = LicencesFollower(ledger, self._index)
        self._settings = settings
        self._metrics = metrics
        self._handoffs = handoffs
        self._gate = gate  # None on an --insecure node: the request names the operator

    # -- the one path --------------------------------------------------------

    @contextmanager
    def _translated(self, rpc: str, context: grpc.ServicerContext) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        except LedgerError as error:
            status = status_of(error)
            self._metrics.errors.labels(rpc=rpc, code=status.code.name).inc()
            _log.info("command refused", rpc=rpc, error=str(error), code=status.code.name)
            context.abort_with_status(status)
        except OperationalError as error:
            # The store, not the request: the caller may send it again later.
            self._metrics.errors.labels(rpc=rpc, code="UNAVAILABLE").inc()
            _log.error("store unavailable", rpc=rpc, error=str(error)[:500])
            context.abort_with_status(store_unavailable_status(error))
        finally:
            self._metrics.latency.labels(rpc=rpc).observe(time.perf_counter() - started)

    def _operator(
        self, meta: types_pb2.CommandMeta, context: grpc.ServicerContext | None, rpc: str
    ) -> Operator:
        """Who the event records: the operator a verified token names, or the one the
        request names for the machine account that vouched (docs/identity.md); on an
        insecure node, or for a node's own call, the one the request names."""
        named = Operator(meta.operator.id, meta.operator.role)
        if self._gate is None or context is None:
            return named
        acting = self._gate.acting(context, rpc, meta.operator.role)
        if acting is None:
            return named
        if acting.on_behalf:
            return replace(named, authentication=acting.authentication())
        return Operator(acting.identity.operator_id, acting.role, acting.authentication())

    def _context(
        self,
        meta: types_pb2.CommandMeta,
        request: Message,
        context: grpc.ServicerContext | None = None,
        rpc: str = "",
    ) -> Context:
        checks = convert.Violations()
        for path, value in (
            ("meta.request_id", meta.request_id),
            ("meta.operator.id", meta.operator.id),
            ("meta.operator.role", meta.operator.role),
        ):
            if not value.strip():
                checks.add(path, "must not be empty")
        at = self._settings.clock()
        if meta.HasField("occurred_at"):
            if not self._settings.allow_client_time:
                checks.add("meta.occurred_at", "this node records its own time; leave it unset")
            else:
                zone = at.tzinfo
                stamped = checks.check(
                    lambda: convert.moment(meta.occurred_at, zone, "meta.occurred_at")
                )
                at = stamped or at
        if meta.expected_version < 0:
            checks.add("meta.expected_version", "must not be negative (0: any version)")
        checks.raise_any()
        return Context(
            node=self._ledger.node,
            operator=self._operator(meta, context, rpc),
            at=at,
            request_id=meta.request_id,
            request_digest=request_digest(request),
            node_clock=not meta.HasField("occurred_at"),
        )

    def _result(self, rpc: str, outcome: Outcome) -> types_pb2.CommandResult:
        if not outcome.replayed:
            self._metrics.appends.labels(rpc=rpc).inc()
        # At debug: a line per command rendered on the request's thread took 4% of
        # a busy node's time; `caseledger_appends_total` counts them. Refusals stay
        # at info.
        _log.debug(
            "command done",
            rpc=rpc,
            case=outcome.number,
            version=outcome.version,
            replayed=outcome.replayed,
        )
        return types_pb2.CommandResult(
            case_id=str(outcome.case_id),
            case_number=outcome.number,
            version=outcome.version,
            replayed=outcome.replayed,
        )

    def _command(
        self,
        rpc: str,
        request: CaseCommandRequest,
        context: grpc.ServicerContext,
        response: CommandResponse[_Response],
        act: Callable[[Case, Context], None],
    ) -> _Response:
        with (
            self._translated(rpc, context),
            structlog.contextvars.bound_contextvars(request_id=request.meta.request_id),
        ):
            checks = convert.Violations()
            case_ref = checks.check(lambda: convert.case_reference(request.case))
            ctx = checks.check(lambda: self._context(request.meta, request, context, rpc))
            checks.raise_any()
            assert case_ref is not None
            assert ctx is not None
            try:
                outcome = self._ledger.execute(case_ref, ctx, act, request.meta.expected_version)
            except InvalidInput as error:
                raise convert.in_request_paths(error) from None
            return response(result=self._result(rpc, outcome))
        raise AssertionError("unreachable: abort raises")

    def _seal(self, case: Case, field: str, plaintext: str, path: str) -> Sealed:
        if not plaintext.strip():
            raise InvalidInput.single(path, "must not be empty")
        subject = self._ledger.trail(case.id)[0].payload["applicant"]["subject"]
        return self._ledger.keys.seal(subject, field, plaintext)
