"""The HandoffService: what nodes ask of each other to hand cases over.

Only nodes call it (the gate refuses clients), and each call is held to the
network's shape by the caller's certificate, never by what the request says:
an offer or a delivered trail comes from the node it names; a trail is
exported to a node that owned the case, was offered it, or sits above one that
did; a delivered trail is stored only if every event of it was written by the
node that held the case then, and its sender held the case
(`caseledger.ledger.trail.authorship`). A refusal is PERMISSION_DENIED with an
ErrorInfo reason, and nothing is stored. An `--insecure` node checks none of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from uuid import UUID

import grpc
import structlog
from eventsourcing.persistence import StoredEvent

from caseledger.ledger.application import CaseLedger
from caseledger.ledger.codes.division import DivisionCode
from caseledger.ledger.codes.numbering import CaseNumber
from caseledger.ledger.errors import CaseNotFound, InvalidInput, LedgerError
from caseledger.ledger.personal.wrapping import wrap
from caseledger.ledger.trail.authorship import authorship
from caseledger.ledger.trail.received import TrailBroken
from caseledger.nodes.handoff.erasure import NotAPeer
from caseledger.nodes.handoff.handover import Handoffs, events_of, records_of, subjects_of
from caseledger.nodes.service.gate import Gate
from caseledger.nodes.service.status import status_of
from caseledger.nodes.trust.callers import Caller
from caseledger.v1 import handoff_pb2, handoff_pb2_grpc

_log = structlog.get_logger("caseledger.nodes.handoff")


def _case_id(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise InvalidInput.single("case_id", "must be a case id (UUID)") from None


class HandoffService(handoff_pb2_grpc.HandoffServiceServicer):
    def __init__(
        self,
        ledger: CaseLedger,
        handoffs: Handoffs,
        clock: Callable[[], datetime],
        gate: Gate | None = None,
    ) -> None:
        self._ledger = ledger
        self._handoffs = handoffs
        self._clock = clock
        self._gate = gate  # None on an --insecure node: no caller is known

    # -- the network's shape -----------------------------------------------------

    def _denied(self, context: grpc.ServicerContext, rpc: str, reason: str, text: str) -> None:
        assert self._gate is not None
        self._gate.refuse(context, rpc, grpc.StatusCode.PERMISSION_DENIED, reason, text)

    def _caller(self, context: grpc.ServicerContext, rpc: str, claimed: str = "") -> Caller | None:
        """The calling node; refused unless it is the node the request names (`claimed`)."""
        if self._gate is None:
            return None
        caller = self._gate.caller_of(context)
        if claimed and caller.node != claimed:
            self._denied(
                context, rpc, "SENDER_MISMATCH", f"the call comes from {caller}, not from {claimed}"
            )
        return caller

    def _owners_of(self, aggregate_id: UUID) -> tuple[list[str], str]:
        """The nodes that owned the case (or the case a number claim names), and the node it
        is being handed to; nothing if this node holds neither."""
        for stored in self._ledger.held.stored_trail(aggregate_id)[:1]:
            first = self._ledger.mapper.to_domain_event(stored)
            if isinstance(first, CaseNumber.Claimed):
                aggregate_id = first.case_id
        return self._case_owners(aggregate_id)

    def _case_owners(self, case_id: UUID) -> tuple[list[str], str]:
        try:
            case = self._ledger.case(case_id)
        except LedgerError:
            return [], ""
        return list(case.owners), case.transfer_to

    def _may_export(self, context: grpc.ServicerContext, aggregate_id: UUID) -> None:
        caller = self._caller(context, "ExportTrail")
        if caller is None or caller.node is None:
            return
        owners, target = self._owners_of(aggregate_id)
        node = DivisionCode.parse(caller.node)
        if caller.node == target or any(node.contains(DivisionCode.parse(o)) for o in owners):
            return
        self._denied(
            context,
            "ExportTrail",
            "NOT_A_HOLDER",
            f"{caller} neither owned this case, nor was offered it, nor is above a node that did",
        )

    def _may_store(
        self, context: grpc.ServicerContext, aggregate_id: UUID, delivered: list[StoredEvent]
    ) -> None:
        """The delivered events, over what this node holds, written by the case's owners only."""
        caller = self._caller(context, "DeliverTrail")
        if caller is None:
            return
        by_version = {e.originator_version: e for e in self._ledger.held.stored_trail(aggregate_id)}
        for stored in delivered:
            by_version.setdefault(stored.originator_version, stored)
        trail = []
        for version in range(1, len(by_version) + 1):
            if version not in by_version:
                break  # past a gap the trail checks refuse it anyway
            try:
                trail.append(self._ledger.mapper.to_domain_event(by_version[version]))
            except LedgerError:
                return  # an event that does not decode: the trail checks refuse it
        if trail and isinstance(trail[0], CaseNumber.Claimed):
            # A number's claim comes after its case's trail: the case says who owned it.
            owners, _ = self._case_owners(trail[0].case_id)
            if caller.node not in owners:
                self._denied(
                    context,
                    "DeliverTrail",
                    "SENDER_NOT_OWNER",
                    f"{caller} delivered the claim of a case number for a case it never owned",
                )
            return
        found = authorship(trail)
        if found.unauthored is not None:
            self._denied(context, "DeliverTrail", "AUTHOR_NOT_OWNER", found.unauthored.reason)
        if trail and caller.node not in found.owners:
            self._denied(
                context,
                "DeliverTrail",
                "SENDER_NOT_OWNER",
                f"{caller} never owned this case (its owners: {', '.join(found.owners)})",
            )

    @contextmanager
    def _translated(self, context: grpc.ServicerContext) -> Iterator[None]:
        try:
            yield
        except TrailBroken as error:
            context.abort(grpc.StatusCode.DATA_LOSS, str(error))
        except LedgerError as error:
            context.abort_with_status(status_of(error))
        except grpc.RpcError as error:
            context.abort(grpc.StatusCode.UNAVAILABLE, f"the owner could not be reached: {error}")

    def OfferCase(
        self, request: handoff_pb2.OfferCaseRequest, context: grpc.ServicerContext
    ) -> handoff_pb2.OfferCaseResponse:
        self._caller(context, "OfferCase", request.from_node)
        with self._translated(context):
            # `from_address` is not dialled: the offering node's address is the
            # network file's (older owners still send it).
            answer = self._handoffs.answer(
                _case_id(request.case_id), request.from_node, self._clock()
            )
            return handoff_pb2.OfferCaseResponse(
                outcome=answer.outcome,  # type: ignore[arg-type]
                version=answer.version,
                owner=answer.owner,
            )
        raise AssertionError("unreachable: abort raises")

    def ExportTrail(
        self, request: handoff_pb2.ExportTrailRequest, context: grpc.ServicerContext
    ) -> handoff_pb2.ExportTrailResponse:
        with self._translated(context):
            if request.after_version < 0:
                raise InvalidInput.single("after_version", "must not be negative")
            case_id = _case_id(request.case_id)
            self._may_export(context, case_id)
            events = self._ledger.held.stored_trail(case_id, request.after_version)
            if not events and request.after_version == 0:
                raise CaseNotFound(request.case_id)
            return handoff_pb2.ExportTrailResponse(records=records_of(events))
        raise AssertionError("unreachable: abort raises")

    def ExportSubjectKeys(
        self, request: handoff_pb2.ExportSubjectKeysRequest, context: grpc.ServicerContext
    ) -> handoff_pb2.ExportSubjectKeysResponse:
        rpc = "ExportSubjectKeys"
        with self._translated(context):
            case_id = _case_id(request.case_id)
            case = self._ledger.case(case_id)
            if self._gate is None:
                context.abort(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    "subject keys travel only between nodes that know each other "
                    "(this node runs --insecure)",
                )
            caller = self._caller(context, rpc)
            assert caller is not None
            if caller.node is None or caller.node not in (case.transfer_to, case.owner):
                self._denied(
                    context,
                    rpc,
                    "NOT_THE_TAKER",
                    f"{caller} is neither the node this case is handed to nor its owner",
                )
            recipient = self._gate.sealing_key_of(context)
            if recipient is None:
                self._gate.refuse(
                    context,
                    rpc,
                    grpc.StatusCode.FAILED_PRECONDITION,
                    "NO_SEALING_KEY",
                    f"the certificate of {caller} binds no sealing key: renew it "
                    "(caseledger network pki renew) to receive subject keys",
                )
            assert recipient is not None
            keys = []
            for subject in subjects_of(self._ledger, case_id):
                held = self._ledger.keys.held(subject)
                if held is not None:
                    wrapped = wrap(held, case=str(case_id), subject=subject, recipient=recipient)
                    keys.append(handoff_pb2.WrappedSubjectKey(subject=subject, wrapped=wrapped))
                    if self._handoffs.erasures is not None and caller.node is not None:
                        self._handoffs.erasures.handed(subject, caller.node)
            _log.info("subject keys handed over", case=str(case_id), to=str(caller), keys=len(keys))
            return handoff_pb2.ExportSubjectKeysResponse(keys=keys)
        raise AssertionError("unreachable: abort raises")

    def EraseSubjectKey(
        self, request: handoff_pb2.EraseSubjectKeyRequest, context: grpc.ServicerContext
    ) -> handoff_pb2.EraseSubjectKeyResponse:
        rpc = "EraseSubjectKey"
        self._caller(context, rpc, request.from_node)
        erasures = self._handoffs.erasures
        if erasures is None:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "this node shares no keys")
        assert erasures is not None
        try:
            erased = erasures.notice(request.subject, request.from_node)
        except NotAPeer as error:
            self._denied(context, rpc, "NOT_A_PEER", str(error))
        return handoff_pb2.EraseSubjectKeyResponse(erased=erased)

    def DeliverTrail(
        self, request: handoff_pb2.DeliverTrailRequest, context: grpc.ServicerContext
    ) -> handoff_pb2.DeliverTrailResponse:
        with self._translated(context):
            case_id = _case_id(request.case_id)
            events = events_of(case_id, list(request.records))
            self._caller(context, "DeliverTrail", request.from_node)
            stored = self._ledger.held.import_trail(
                request.from_node,
                events,
                admit=lambda: self._may_store(context, case_id, events),
            )
            return handoff_pb2.DeliverTrailResponse(stored=stored)
        raise AssertionError("unreachable: abort raises")
