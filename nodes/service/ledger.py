"""The LedgerService of a node: one handler per RPC, all through one path.

Every command goes: check the request's meta -> build the command context ->
`CaseLedger.execute` (retry-safe, atomic) -> `CommandResult`. Ledger errors
become rich statuses in `status.py`, and nowhere else.
"""

from __future__ import annotations

from uuid import UUID

import grpc
import structlog

from caseledger.ledger.case.aggregate import Case, Context
from caseledger.ledger.catalogue import ItemTerms
from caseledger.ledger.codes.division import DivisionCode
from caseledger.ledger.codes.vocabulary import (
    ApplicantType,
    SubmissionChannel,
)
from caseledger.ledger.errors import InvalidInput
from caseledger.ledger.intake import identity_number, seal_applicant
from caseledger.ledger.personal.case_index import applicant_token
from caseledger.ledger.personal.keystore import MemorySubjectKeyStore
from caseledger.ledger.personal.sealing import KeyNotHeld, SubjectKeys, mask
from caseledger.ledger.trail.quarantine import Entry, Reason
from caseledger.nodes.handoff.handover import failpoint
from caseledger.nodes.service import convert
from caseledger.nodes.service.catalogue import item_codes
from caseledger.nodes.service.ledger_base import LedgerServiceBase, LedgerSettings
from caseledger.nodes.service.ledger_commands import CaseCommandHandlers
from caseledger.v1 import ledger_pb2, types_pb2

_log = structlog.get_logger("caseledger.nodes.ledger")

SEARCH_PAGE = 100
"""The cases a search answers when the request names no page size."""

__all__ = ["LedgerService", "LedgerServiceBase", "LedgerSettings"]


class LedgerService(CaseCommandHandlers):
    """The LedgerService of a node: diagnostics, catalogue, submission, transfer, reads."""

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
            operator = self._context(request.meta, request, context, "PublishItem").operator
            return ledger_pb2.PublishItemResponse(
                version=self._ledger.publish_item(terms, operator)
            )
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
            ctx = checks.check(lambda: self._context(request.meta, request, context, "Submit"))
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
                    self._index.add_applicant(
                        self._applicant_token(form.type, form.id_number), outcome.case_id, ctx.at
                    )
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

    def EraseSubject(
        self, request: ledger_pb2.EraseSubjectRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.EraseSubjectResponse:
        with self._translated("EraseSubject", context):
            checks = convert.Violations()
            ctx = checks.check(
                lambda: self._context(request.meta, request, context, "EraseSubject")
            )
            kind = checks.check(
                lambda: convert.code_of(request.applicant_type, ApplicantType, "applicant_type")
            )
            if kind is not None:
                checks.check(lambda: identity_number(kind, request.id_number, "id_number"))
            if not request.reason.strip():
                checks.add("reason", "must not be empty")
            checks.raise_any()
            assert ctx is not None
            assert kind is not None
            self._applicants.catch_up()
            touched = self._index.cases_of(self._applicant_token(kind, request.id_number))
            erasures = self._handoffs.erasures
            subject = (
                erasures.erase_by_identity(kind, request.id_number)
                if erasures is not None
                else self._ledger.erase_subject(kind, request.id_number)
            )
            # Erasure is irreversible: who did it, and why, goes to the node's log.
            _log.warning(
                "data subject erased",
                subject=subject,
                operator=ctx.operator.id,
                role=ctx.operator.role,
                reason=request.reason,
                request_id=ctx.request_id,
            )
            return ledger_pb2.EraseSubjectResponse(subject=subject, cases=len(touched))
        raise AssertionError("unreachable: abort raises")

    # -- reads -----------------------------------------------------------------

    def GetCase(
        self, request: ledger_pb2.GetCaseRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.GetCaseResponse:
        with self._translated("GetCase", context):
            view = self._case_view(self._ledger.case(convert.case_reference(request.case)))
            if view.deadline.provisional:
                _log.warning(
                    "provisional deadline: no official holiday arrangement loaded, "
                    "counted with the statutory holidays by rule",
                    case_number=view.case_number,
                    provisional_year=view.deadline.provisional_year,
                    promised_due=view.deadline.promised_due,
                    statutory_due=view.deadline.statutory_due,
                )
            return ledger_pb2.GetCaseResponse(case=view)
        raise AssertionError("unreachable: abort raises")

    def SearchCases(
        self, request: ledger_pb2.SearchCasesRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.SearchCasesResponse:
        with self._translated("SearchCases", context):
            checks = convert.Violations()
            kind = checks.check(
                lambda: convert.code_of(request.applicant_type, ApplicantType, "applicant_type")
            )
            if kind is not None:
                checks.check(lambda: identity_number(kind, request.id_number, "id_number"))
            checks.raise_any()
            assert kind is not None
            within = self._jurisdiction(context, "SearchCases")
            self._applicants.catch_up()
            size = request.page_size or SEARCH_PAGE
            views: list[ledger_pb2.CaseView] = []
            for found in self._index.cases_of(self._applicant_token(kind, request.id_number)):
                case = self._ledger.case(found.case_id)
                if within is not None and not within.contains(DivisionCode.parse(case.owner)):
                    continue
                views.append(self._case_view(case))
                if len(views) > size:
                    break
            return ledger_pb2.SearchCasesResponse(cases=views[:size], truncated=len(views) > size)
        raise AssertionError("unreachable: abort raises")

    def ListItems(
        self, request: ledger_pb2.ListItemsRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.ListItemsResponse:
        with self._translated("ListItems", context):
            items = [self._ledger.item(code) for code in item_codes(self._ledger)]
            return ledger_pb2.ListItemsResponse(
                items=[convert.item_terms_message(terms) for terms in items]
            )
        raise AssertionError("unreachable: abort raises")

    # -- what the reads share ----------------------------------------------------

    def _applicant_token(self, applicant_type: ApplicantType, id_number: str) -> bytes:
        """The blind index token of an applicant whose number was checked already."""
        normalised = identity_number(applicant_type, id_number, "id_number")
        return applicant_token(self._ledger.keys.index_key(), applicant_type, normalised)

    def _jurisdiction(self, context: grpc.ServicerContext, rpc: str) -> DivisionCode | None:
        """The division of the operator calling (None: a node's call, or an
        insecure node, where the request is not an operator's)."""
        if self._gate is None:
            return None
        acting = self._gate.acting(context, rpc)
        return None if acting is None else acting.identity.division

    def _case_view(self, case: Case) -> ledger_pb2.CaseView:
        trail = self._ledger.trail(case.id)
        try:
            name = self._ledger.open_sealed(convert.applicant_name_sealed(trail), "name")
            shown = convert.ERASED if name is None else mask(name)
        except KeyNotHeld:
            shown = convert.SEALED_ELSEWHERE
        return convert.case_view(case, shown, self._settings.calendar, self._settings.clock())

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

    def ListQuarantined(
        self, request: ledger_pb2.ListQuarantinedRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.ListQuarantinedResponse:
        with self._translated("ListQuarantined", context):
            received = self._ledger.received
            entries = (
                []
                if received is None or received.quarantine is None
                else (received.quarantine.entries())
            )
            return ledger_pb2.ListQuarantinedResponse(cases=[_quarantined(e) for e in entries])
        raise AssertionError("unreachable: abort raises")


_REASONS = {
    Reason.UNREADABLE: ledger_pb2.QUARANTINE_REASON_UNREADABLE,
    Reason.HASH_MISMATCH: ledger_pb2.QUARANTINE_REASON_HASH_MISMATCH,
    Reason.BROKEN_LINK: ledger_pb2.QUARANTINE_REASON_BROKEN_LINK,
    Reason.CONFLICT: ledger_pb2.QUARANTINE_REASON_CONFLICT,
    Reason.LOG_GAP: ledger_pb2.QUARANTINE_REASON_LOG_GAP,
    Reason.UNCARRIED: ledger_pb2.QUARANTINE_REASON_UNCARRIED,
}


def _quarantined(entry: Entry) -> ledger_pb2.QuarantinedCase:
    message = ledger_pb2.QuarantinedCase(
        case_id=entry.case,
        source=entry.source,
        version=entry.version,
        reason=_REASONS[entry.reason],
        detail=entry.detail,
        held_hash=entry.held_hash,
        received_hash=entry.received_hash,
        held_events=entry.held_events,
    )
    if entry.first_seen is not None:
        message.first_seen.FromDatetime(entry.first_seen)
    return message
