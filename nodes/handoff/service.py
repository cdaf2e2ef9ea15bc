"""The HandoffService: what nodes ask of each other to hand cases over."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from uuid import UUID

import grpc

from caseledger.ledger.application import CaseLedger
from caseledger.ledger.errors import CaseNotFound, InvalidInput, LedgerError
from caseledger.ledger.trail.received import TrailBroken
from caseledger.nodes.handoff.handover import Handoffs, events_of, records_of
from caseledger.nodes.service.status import status_of
from caseledger.v1 import handoff_pb2, handoff_pb2_grpc


def _case_id(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise InvalidInput.single("case_id", "must be a case id (UUID)") from None


class HandoffService(handoff_pb2_grpc.HandoffServiceServicer):
    def __init__(
        self, ledger: CaseLedger, handoffs: Handoffs, clock: Callable[[], datetime]
    ) -> None:
        self._ledger = ledger
        self._handoffs = handoffs
        self._clock = clock

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
            events = self._ledger.stored_trail(case_id, request.after_version)
            if not events and request.after_version == 0:
                raise CaseNotFound(request.case_id)
            return handoff_pb2.ExportTrailResponse(records=records_of(events))
        raise AssertionError("unreachable: abort raises")

    def DeliverTrail(
        self, request: handoff_pb2.DeliverTrailRequest, context: grpc.ServicerContext
    ) -> handoff_pb2.DeliverTrailResponse:
        with self._translated(context):
            received = self._ledger.received
            assert received is not None
            events = events_of(_case_id(request.case_id), list(request.records))
            stored = received.accept_trail(request.from_node, events, self._ledger.known_hashes)
            return handoff_pb2.DeliverTrailResponse(stored=stored)
        raise AssertionError("unreachable: abort raises")
