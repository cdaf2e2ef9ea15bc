"""The LedgerService of a node: one handler per RPC, all through one path.

Every command goes: check the request's meta -> build the command context ->
`CaseLedger.execute` (retry-safe, atomic) -> `CommandResult`. Ledger errors
become rich statuses in `status.py`, and nowhere else.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

import grpc
import structlog

from caseledger.ledger.application import CaseLedger, Outcome, utc_now
from caseledger.ledger.calendar import WorkingCalendar
from caseledger.ledger.case import Case, Context, Operator
from caseledger.ledger.catalogue import ItemTerms
from caseledger.ledger.division import DivisionCode
from caseledger.ledger.errors import FieldViolation, InvalidInput, LedgerError
from caseledger.ledger.identifiers import ELicenceId
from caseledger.ledger.intake import seal_applicant
from caseledger.ledger.keystore import MemorySubjectKeyStore
from caseledger.ledger.personal import KeyNotHeld, SubjectKeys, mask
from caseledger.ledger.vocabulary import (
    ConclusionResult,
    RatingChannel,
    Satisfaction,
    SpecialProcedureKind,
    SubmissionChannel,
)
from caseledger.nodes import convert
from caseledger.nodes.handoffs import Handoffs, failpoint
from caseledger.nodes.metrics import Metrics
from caseledger.nodes.status import status_of
from caseledger.v1 import ledger_pb2, ledger_pb2_grpc, types_pb2

_log = structlog.get_logger("caseledger.nodes.ledger")
_Response = TypeVar("_Response")
_STEP_ACTIONS = {types_pb2.STEP_ACTION_PASS: "pass", types_pb2.STEP_ACTION_RETURN: "return"}


@dataclass(frozen=True)
class LedgerSettings:
    allow_client_time: bool
    calendar: WorkingCalendar
    clock: Callable[[], datetime] = utc_now


class LedgerService(ledger_pb2_grpc.LedgerServiceServicer):
    def __init__(
        self, ledger: CaseLedger, settings: LedgerSettings, metrics: Metrics, handoffs: Handoffs
    ) -> None:
        self._ledger = ledger
        self._settings = settings
        self._metrics = metrics
        self._handoffs = handoffs

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
        finally:
            self._metrics.latency.labels(rpc=rpc).observe(time.perf_counter() - started)

    def _context(self, meta: types_pb2.CommandMeta, request: Any) -> Context:
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
            operator=Operator(meta.operator.id, meta.operator.role),
            at=at,
            request_id=meta.request_id,
            request_digest=convert.request_digest(request),
        )

    def _result(self, rpc: str, outcome: Outcome) -> types_pb2.CommandResult:
        if not outcome.replayed:
            self._metrics.appends.labels(rpc=rpc).inc()
        _log.info(
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
        request: Any,
        context: grpc.ServicerContext,
        response: Callable[..., _Response],
        act: Callable[[Case, Context], None],
    ) -> _Response:
        with (
            self._translated(rpc, context),
            structlog.contextvars.bound_contextvars(request_id=request.meta.request_id),
        ):
            checks = convert.Violations()
            case_ref = checks.check(lambda: convert.case_reference(request.case))
            ctx = checks.check(lambda: self._context(request.meta, request))
            checks.raise_any()
            assert case_ref is not None
            assert ctx is not None
            try:
                outcome = self._ledger.execute(
                    case_ref, ctx, lambda case: act(case, ctx), request.meta.expected_version
                )
            except InvalidInput as error:
                raise convert.in_request_paths(error) from None
            return response(result=self._result(rpc, outcome))
        raise AssertionError("unreachable: abort raises")

    # -- diagnostics and catalogue -------------------------------------------

    def Ping(
        self, request: ledger_pb2.PingRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.PingResponse:
        return ledger_pb2.PingResponse(payload=request.payload, node=self._ledger.node)

    def PublishItem(
        self, request: ledger_pb2.PublishItemRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.PublishItemResponse:
        with self._translated("PublishItem", context):
            terms: ItemTerms = convert.item_terms(request.terms)
            return ledger_pb2.PublishItemResponse(version=self._ledger.publish_item(terms))
        raise AssertionError("unreachable: abort raises")

    def GetItem(
        self, request: ledger_pb2.GetItemRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.GetItemResponse:
        with self._translated("GetItem", context):
            code = convert.item_code(request.implementation_code, "implementation_code")
            terms = self._ledger.item(str(code))
            return ledger_pb2.GetItemResponse(terms=convert.item_terms_message(terms))
        raise AssertionError("unreachable: abort raises")

    # -- submission ----------------------------------------------------------

    def Submit(
        self, request: ledger_pb2.SubmitRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.SubmitResponse:
        with (
            self._translated("Submit", context),
            structlog.contextvars.bound_contextvars(request_id=request.meta.request_id),
        ):
            checks = convert.Violations()
            ctx = checks.check(lambda: self._context(request.meta, request))
            code = checks.check(lambda: convert.item_code(request.item_code, "item_code"))
            channel = checks.check(
                lambda: convert.code_of(request.channel, SubmissionChannel, "channel")
            )
            form = checks.check(lambda: convert.applicant_form(request.applicant))
            checks.found.extend(convert.material_violations(list(request.materials), "materials"))
            refused: InvalidInput | None = None
            if not checks.found:
                assert ctx is not None
                assert code is not None
                assert channel is not None
                assert form is not None
                materials = convert.materials(list(request.materials))
                try:
                    outcome = self._ledger.submit(ctx, str(code), channel, form, materials)
                    return ledger_pb2.SubmitResponse(result=self._result("Submit", outcome))
                except InvalidInput as error:
                    refused = error  # the ledger stops at its first fault: look for all
            if code is not None:
                checks.check(lambda: self._ledger.item_for_submission(str(code)))
            if form is not None:
                # Sealed under a scratch key store: checked by the ledger's own
                # rules, and no key is kept for an applicant who is refused.
                checks.check(lambda: seal_applicant(form, SubjectKeys(MemorySubjectKeyStore())))
            checks.raise_any()
            assert refused is not None
            raise refused
        raise AssertionError("unreachable: abort raises")

    # -- commands on an existing case -------------------------------------------

    def PassPreReview(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._command(
            "PassPreReview",
            request,
            context,
            ledger_pb2.PassPreReviewResponse,
            lambda case, ctx: case.pass_pre_review(ctx, request.opinion),
        )

    def ReturnPreReview(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._command(
            "ReturnPreReview",
            request,
            context,
            ledger_pb2.ReturnPreReviewResponse,
            lambda case, ctx: case.return_pre_review(ctx, request.reason),
        )

    def RequestCorrection(self, request: Any, context: grpc.ServicerContext) -> Any:
        missing = [(m.name, m.reason) for m in request.materials]
        return self._command(
            "RequestCorrection",
            request,
            context,
            ledger_pb2.RequestCorrectionResponse,
            lambda case, ctx: case.request_correction(ctx, missing),
        )

    def SupplementMaterials(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._command(
            "SupplementMaterials",
            request,
            context,
            ledger_pb2.SupplementMaterialsResponse,
            lambda case, ctx: case.supplement_materials(
                ctx, convert.materials(list(request.materials))
            ),
        )

    def Accept(self, request: Any, context: grpc.ServicerContext) -> Any:
        def accept(case: Case, ctx: Context) -> None:
            terms = self._ledger.item(case.item["implementation_code"])
            case.accept(ctx, request.notice_no, terms.case_type, terms.limits)

        return self._command("Accept", request, context, ledger_pb2.AcceptResponse, accept)

    def RefuseAcceptance(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._command(
            "RefuseAcceptance",
            request,
            context,
            ledger_pb2.RefuseAcceptanceResponse,
            lambda case, ctx: case.refuse_acceptance(
                ctx, request.notice_no, request.reason, request.legal_basis
            ),
        )

    def RecordStep(self, request: Any, context: grpc.ServicerContext) -> Any:
        def step(case: Case, ctx: Context) -> None:
            if request.action == types_pb2.STEP_ACTION_UNSPECIFIED:
                raise InvalidInput.single("action", "must be set: pass or return")
            action = _STEP_ACTIONS.get(request.action)
            if action is None:
                raise InvalidInput.single(
                    "action", f"unknown step action {request.action}; expected pass or return"
                )
            case.record_step(ctx, request.step, request.handler, request.opinion, action)

        return self._command("RecordStep", request, context, ledger_pb2.RecordStepResponse, step)

    def StartSpecialProcedure(self, request: Any, context: grpc.ServicerContext) -> Any:
        def start(case: Case, ctx: Context) -> None:
            kind = convert.code_of(request.kind, SpecialProcedureKind, "kind")
            case.start_special_procedure(ctx, kind, request.reason)

        return self._command(
            "StartSpecialProcedure",
            request,
            context,
            ledger_pb2.StartSpecialProcedureResponse,
            start,
        )

    def EndSpecialProcedure(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._command(
            "EndSpecialProcedure",
            request,
            context,
            ledger_pb2.EndSpecialProcedureResponse,
            lambda case, ctx: case.end_special_procedure(ctx, request.outcome),
        )

    def Suspend(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._command(
            "Suspend",
            request,
            context,
            ledger_pb2.SuspendResponse,
            lambda case, ctx: case.suspend(ctx, request.reason),
        )

    def Resume(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._command(
            "Resume",
            request,
            context,
            ledger_pb2.ResumeResponse,
            lambda case, ctx: case.resume(ctx, request.note),
        )

    def ExtendDeadline(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._command(
            "ExtendDeadline",
            request,
            context,
            ledger_pb2.ExtendDeadlineResponse,
            lambda case, ctx: case.extend_deadline(ctx, request.approved_by, request.reason),
        )

    def Conclude(self, request: Any, context: grpc.ServicerContext) -> Any:
        def conclude(case: Case, ctx: Context) -> None:
            result = convert.code_of(request.result, ConclusionResult, "result")
            case.conclude(ctx, result, request.decision_no, request.note)

        return self._command("Conclude", request, context, ledger_pb2.ConcludeResponse, conclude)

    def IssueCertificate(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._command(
            "IssueCertificate",
            request,
            context,
            ledger_pb2.IssueCertificateResponse,
            lambda case, ctx: issue_certificate(case, ctx, request),
        )

    def DispatchByMail(self, request: Any, context: grpc.ServicerContext) -> Any:
        def mail(case: Case, ctx: Context) -> None:
            address = self._seal(case, "address", request.address, "address")
            case.dispatch_by_mail(ctx, request.carrier, request.tracking_no, address)

        return self._command(
            "DispatchByMail", request, context, ledger_pb2.DispatchByMailResponse, mail
        )

    def CollectAtWindow(self, request: Any, context: grpc.ServicerContext) -> Any:
        def collect(case: Case, ctx: Context) -> None:
            case.collect_at_window(ctx, self._seal(case, "signer", request.signer, "signer"))

        return self._command(
            "CollectAtWindow", request, context, ledger_pb2.CollectAtWindowResponse, collect
        )

    def ConfirmDelivery(self, request: Any, context: grpc.ServicerContext) -> Any:
        def confirm(case: Case, ctx: Context) -> None:
            received = convert.required_date(request.received_on, "received_on")
            case.confirm_delivery(
                ctx, self._seal(case, "signer", request.signer, "signer"), received
            )

        return self._command(
            "ConfirmDelivery", request, context, ledger_pb2.ConfirmDeliveryResponse, confirm
        )

    def Withdraw(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._command(
            "Withdraw",
            request,
            context,
            ledger_pb2.WithdrawResponse,
            lambda case, ctx: case.withdraw(ctx, request.reason),
        )

    def Rate(self, request: Any, context: grpc.ServicerContext) -> Any:
        def rate(case: Case, ctx: Context) -> None:
            satisfaction = convert.code_of(request.satisfaction, Satisfaction, "satisfaction")
            channel = convert.code_of(request.channel, RatingChannel, "channel")
            for index, detail in enumerate(request.details):
                # A blank detail would pass for the one a bad rating must carry.
                if not detail.strip():
                    raise InvalidInput.single(f"details[{index}]", "must not be empty")
            case.rate(ctx, satisfaction, channel, request.comment, list(request.details))

        return self._command("Rate", request, context, ledger_pb2.RateResponse, rate)

    def RecordRectification(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._command(
            "RecordRectification",
            request,
            context,
            ledger_pb2.RecordRectificationResponse,
            lambda case, ctx: case.record_rectification(ctx, request.response, request.fix),
        )

    def Transfer(
        self, request: ledger_pb2.TransferRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.TransferResponse:
        def transfer(case: Case, ctx: Context) -> None:
            target = str(DivisionCode.parse(request.target, "target"))
            if self._handoffs.address_of(target) is None:
                raise InvalidInput.single("target", "no node with this code is in the network")
            case.request_transfer(ctx, target, request.reason)

        requested = self._command(
            "Transfer", request, context, ledger_pb2.TransferResponse, transfer
        )
        failpoint("handoff.owner.requested", self._handoffs.armed)
        with self._translated("Transfer", context):
            answer = self._handoffs.offer(UUID(requested.result.case_id))
            return ledger_pb2.TransferResponse(
                result=types_pb2.CommandResult(
                    case_id=requested.result.case_id,
                    case_number=requested.result.case_number,
                    version=answer.version,
                    replayed=requested.result.replayed,
                ),
                outcome=answer.outcome,  # type: ignore[arg-type]
                owner=answer.owner,
            )
        raise AssertionError("unreachable: abort raises")

    # -- reads -----------------------------------------------------------------

    def GetCase(
        self, request: ledger_pb2.GetCaseRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.GetCaseResponse:
        with self._translated("GetCase", context):
            case = self._ledger.case(convert.case_reference(request.case))
            trail = self._ledger.trail(case.id)
            try:
                name = self._ledger.open_sealed(convert.applicant_name_sealed(trail), "name")
                shown = convert.ERASED if name is None else mask(name)
            except KeyNotHeld:
                shown = convert.SEALED_ELSEWHERE
            view = convert.case_view(case, shown, self._settings.calendar, self._settings.clock())
            return ledger_pb2.GetCaseResponse(case=view)
        raise AssertionError("unreachable: abort raises")

    def ListCaseEvents(
        self, request: ledger_pb2.ListCaseEventsRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.ListCaseEventsResponse:
        with self._translated("ListCaseEvents", context):
            trail = self._ledger.trail(convert.case_reference(request.case))
            return ledger_pb2.ListCaseEventsResponse(
                events=convert.event_messages(trail, self._settings.calendar),
                case_number=trail[0].payload["number"],
            )
        raise AssertionError("unreachable: abort raises")

    def _seal(self, case: Case, field: str, plaintext: str, path: str) -> Any:
        if not plaintext.strip():
            raise InvalidInput.single(path, "must not be empty")
        subject = self._ledger.trail(case.id)[0].payload["applicant"]["subject"]
        return self._ledger.keys.seal(subject, field, plaintext)


def issue_certificate(case: Case, ctx: Context, request: Any) -> None:
    violations: list[FieldViolation] = []
    licence = valid_from = None
    try:
        licence = ELicenceId.parse(request.licence_id, "licence_id")
    except InvalidInput as error:
        violations.extend(error.violations)
    try:
        valid_from = convert.required_date(request.valid_from, "valid_from")
    except InvalidInput as error:
        violations.extend(error.violations)
    try:
        valid_until = convert.parse_date(request.valid_until, "valid_until", optional=True)
    except InvalidInput as error:
        violations.extend(error.violations)
    if violations:
        raise InvalidInput(*violations)
    assert licence is not None
    assert valid_from is not None
    case.issue_certificate(ctx, str(licence), request.file_sha256, valid_from, valid_until)
