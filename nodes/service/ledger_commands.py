"""The LedgerService handlers of the commands on an existing case, one per RPC."""

from __future__ import annotations

import grpc

from caseledger.ledger.case.aggregate import Case, Context
from caseledger.ledger.case.outcome import LicenceHolder
from caseledger.ledger.codes.identifiers import ELicenceId
from caseledger.ledger.codes.vocabulary import (
    ConclusionResult,
    RatingChannel,
    Satisfaction,
    SpecialProcedureKind,
)
from caseledger.ledger.errors import FieldViolation, InvalidInput
from caseledger.nodes.service import convert
from caseledger.nodes.service.ledger_base import STEP_ACTIONS, LedgerServiceBase
from caseledger.v1 import ledger_pb2, types_pb2


class CaseCommandHandlers(LedgerServiceBase):
    """Each command: its request's fields to a `Case` method, through `_command`."""

    def PassPreReview(
        self, request: ledger_pb2.PassPreReviewRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.PassPreReviewResponse:
        return self._command(
            "PassPreReview",
            request,
            context,
            ledger_pb2.PassPreReviewResponse,
            lambda case, ctx: case.pass_pre_review(ctx, request.opinion),
        )

    def ReturnPreReview(
        self, request: ledger_pb2.ReturnPreReviewRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.ReturnPreReviewResponse:
        return self._command(
            "ReturnPreReview",
            request,
            context,
            ledger_pb2.ReturnPreReviewResponse,
            lambda case, ctx: case.return_pre_review(ctx, request.reason),
        )

    def RequestCorrection(
        self, request: ledger_pb2.RequestCorrectionRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.RequestCorrectionResponse:
        missing = [(m.name, m.reason) for m in request.materials]
        return self._command(
            "RequestCorrection",
            request,
            context,
            ledger_pb2.RequestCorrectionResponse,
            lambda case, ctx: case.request_correction(ctx, missing),
        )

    def SupplementMaterials(
        self, request: ledger_pb2.SupplementMaterialsRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.SupplementMaterialsResponse:
        return self._command(
            "SupplementMaterials",
            request,
            context,
            ledger_pb2.SupplementMaterialsResponse,
            lambda case, ctx: case.supplement_materials(
                ctx, convert.materials(list(request.materials))
            ),
        )

    def Accept(
        self, request: ledger_pb2.AcceptRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.AcceptResponse:
        def accept(case: Case, ctx: Context) -> None:
            terms = self._ledger.item(case.item["implementation_code"])
            case.accept(
                ctx,
                request.notice_no,
                terms.case_type,
                terms.limits,
                required_materials=terms.required_materials,
            )

        return self._command("Accept", request, context, ledger_pb2.AcceptResponse, accept)

    def RefuseAcceptance(
        self, request: ledger_pb2.RefuseAcceptanceRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.RefuseAcceptanceResponse:
        return self._command(
            "RefuseAcceptance",
            request,
            context,
            ledger_pb2.RefuseAcceptanceResponse,
            lambda case, ctx: case.refuse_acceptance(
                ctx, request.notice_no, request.reason, request.legal_basis
            ),
        )

    def RecordStep(
        self, request: ledger_pb2.RecordStepRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.RecordStepResponse:
        def step(case: Case, ctx: Context) -> None:
            if request.action == types_pb2.STEP_ACTION_UNSPECIFIED:
                raise InvalidInput.single("action", "must be set: pass or return")
            action = STEP_ACTIONS.get(request.action)
            if action is None:
                raise InvalidInput.single(
                    "action", f"unknown step action {request.action}; expected pass or return"
                )
            case.record_step(ctx, request.step, request.handler, request.opinion, action)

        return self._command("RecordStep", request, context, ledger_pb2.RecordStepResponse, step)

    def StartSpecialProcedure(
        self, request: ledger_pb2.StartSpecialProcedureRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.StartSpecialProcedureResponse:
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

    def EndSpecialProcedure(
        self, request: ledger_pb2.EndSpecialProcedureRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.EndSpecialProcedureResponse:
        return self._command(
            "EndSpecialProcedure",
            request,
            context,
            ledger_pb2.EndSpecialProcedureResponse,
            lambda case, ctx: case.end_special_procedure(ctx, request.outcome),
        )

    def Suspend(
        self, request: ledger_pb2.SuspendRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.SuspendResponse:
        return self._command(
            "Suspend",
            request,
            context,
            ledger_pb2.SuspendResponse,
            lambda case, ctx: case.suspend(ctx, request.reason),
        )

    def Resume(
        self, request: ledger_pb2.ResumeRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.ResumeResponse:
        return self._command(
            "Resume",
            request,
            context,
            ledger_pb2.ResumeResponse,
            lambda case, ctx: case.resume(ctx, request.note),
        )

    def ExtendDeadline(
        self, request: ledger_pb2.ExtendDeadlineRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.ExtendDeadlineResponse:
        return self._command(
            "ExtendDeadline",
            request,
            context,
            ledger_pb2.ExtendDeadlineResponse,
            lambda case, ctx: case.extend_deadline(ctx, request.approved_by, request.reason),
        )

    def Conclude(
        self, request: ledger_pb2.ConcludeRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.ConcludeResponse:
        def conclude(case: Case, ctx: Context) -> None:
            result = convert.code_of(request.result, ConclusionResult, "result")
            case.conclude(ctx, result, request.decision_no, request.note)

        return self._command("Conclude", request, context, ledger_pb2.ConcludeResponse, conclude)

    def IssueCertificate(
        self, request: ledger_pb2.IssueCertificateRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.IssueCertificateResponse:
        # The licence id is refused when any certificate in the node's logs
        # (its own cases', and its descendants' it received) holds it; else it
        # is claimed in the node's index when the case's own checks have
        # passed, and let go again if the event is not written.
        claimed: list[tuple[str, str]] = []

        def holder(licence: str, case: Case) -> str:
            seen = self._licences.holder(licence)
            if seen is not None and seen[0] != case.id:
                claimed_by = self._index.licence_holder(licence)
                if claimed_by is not None and claimed_by != case.number:
                    return claimed_by  # a case of this node: named by its number
                case_id, node = seen
                return f"{case_id} (issued by node {node})"
            held, taken = self._index.claim_licence(licence, case.number)
            if taken:
                claimed.append((licence, case.number))
            return held

        def issue(case: Case, ctx: Context) -> None:
            issue_certificate(
                case, ctx, request, licence_holder=lambda licence: holder(licence, case)
            )

        try:
            return self._command(
                "IssueCertificate", request, context, ledger_pb2.IssueCertificateResponse, issue
            )
        except BaseException:
            for licence, number in claimed:
                self._index.release_licence(licence, number)
            raise

    def DispatchByMail(
        self, request: ledger_pb2.DispatchByMailRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.DispatchByMailResponse:
        def mail(case: Case, ctx: Context) -> None:
            address = self._seal(case, "address", request.address, "address")
            case.dispatch_by_mail(ctx, request.carrier, request.tracking_no, address)

        return self._command(
            "DispatchByMail", request, context, ledger_pb2.DispatchByMailResponse, mail
        )

    def CollectAtWindow(
        self, request: ledger_pb2.CollectAtWindowRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.CollectAtWindowResponse:
        def collect(case: Case, ctx: Context) -> None:
            case.collect_at_window(ctx, self._seal(case, "signer", request.signer, "signer"))

        return self._command(
            "CollectAtWindow", request, context, ledger_pb2.CollectAtWindowResponse, collect
        )

    def ConfirmDelivery(
        self, request: ledger_pb2.ConfirmDeliveryRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.ConfirmDeliveryResponse:
        def confirm(case: Case, ctx: Context) -> None:
            received = convert.required_date(request.received_on, "received_on")
            case.confirm_delivery(
                ctx, self._seal(case, "signer", request.signer, "signer"), received
            )

        return self._command(
            "ConfirmDelivery", request, context, ledger_pb2.ConfirmDeliveryResponse, confirm
        )

    def Withdraw(
        self, request: ledger_pb2.WithdrawRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.WithdrawResponse:
        return self._command(
            "Withdraw",
            request,
            context,
            ledger_pb2.WithdrawResponse,
            lambda case, ctx: case.withdraw(ctx, request.reason),
        )

    def Rate(
        self, request: ledger_pb2.RateRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.RateResponse:
        def rate(case: Case, ctx: Context) -> None:
            satisfaction = convert.code_of(request.satisfaction, Satisfaction, "satisfaction")
            channel = convert.code_of(request.channel, RatingChannel, "channel")
            for index, detail in enumerate(request.details):
                # A blank detail would pass for the one a bad rating must carry.
                if not detail.strip():
                    raise InvalidInput.single(f"details[{index}]", "must not be empty")
            case.rate(ctx, satisfaction, channel, request.comment, list(request.details))

        return self._command("Rate", request, context, ledger_pb2.RateResponse, rate)

    def RecordRectification(
        self, request: ledger_pb2.RecordRectificationRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.RecordRectificationResponse:
        return self._command(
            "RecordRectification",
            request,
            context,
            ledger_pb2.RecordRectificationResponse,
            lambda case, ctx: case.record_rectification(ctx, request.response, request.fix),
        )


def issue_certificate(
    case: Case,
    ctx: Context,
    request: ledger_pb2.IssueCertificateRequest,
    *,
    licence_holder: LicenceHolder | None = None,
) -> None:
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
    case.issue_certificate(
        ctx,
        str(licence),
        request.file_sha256,
        valid_from,
        valid_until,
        licence_holder=licence_holder,
    )
