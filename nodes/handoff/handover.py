"""Handing cases between nodes: the owner's side and the target's side.

Owner A: `request_transfer` is appended (durable) and A stops writing; A then
offers the case to target B and, once B answered, pulls B's answer into its
own stores. Target B: pulls the trail it lacks from A, verifies every hash,
then appends its answer (accept, or reject when B does not implement the
item). Only B can end the handoff, so the case never has two owners; the
answer is appended under a request id derived from the request's version,
so asking B again returns the same answer.

Interruptions: A keeps every case it is handing over in a pending set, filled
from its log (cases whose last transfer request is still open): the handoffs
follow the log's transfer requests from its start, through the log's
subscription (`HeldEvents.follow_authored`), so after a restart every open
request is found again, and one appended by any writer of the store is
found as it commits. A retries the offer until B answers. B, restarted, answers from its stores.
So a handoff cut at any point resumes; none is left with two owners or none.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import grpc
import structlog
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from eventsourcing.persistence import StoredEvent

from caseledger.ledger import names
from caseledger.ledger.application import CaseLedger
from caseledger.ledger.case.aggregate import Case, Context, Operator
from caseledger.ledger.case.events import TransferRequested
from caseledger.ledger.codes.numbering import number_index_id
from caseledger.ledger.errors import InvalidInput, ItemNotFound, LedgerError
from caseledger.ledger.held.following import LogTail
from caseledger.ledger.personal.key_peers import KeyPeers
from caseledger.ledger.personal.wrapping import UnwrapFailed, unwrap
from caseledger.nodes.handoff.erasure import Erasures
from caseledger.nodes.trust.transport import INSECURE, Transport
from caseledger.nodes.workers import HANDOFFS, Workers
from caseledger.v1 import handoff_pb2, handoff_pb2_grpc, types_pb2

_log = structlog.get_logger("caseledger.nodes.handoff.handover")
_RETRY_SECONDS = 1.0
_PAGE = 500
_OFFER_TIMEOUT = 15.0
SYSTEM = Operator(id="handoff", role="system")


def failpoint(name: str, armed: str) -> None:
    """Crash here, as kill -9 would, when the node was started with this point armed."""
    if name == armed:
        os._exit(137)


def records_of(events: list[StoredEvent]) -> list[handoff_pb2.TrailRecord]:
    """Stored events as they travel: each under its stable name, whatever it was stored under."""
    return [
        handoff_pb2.TrailRecord(
            version=e.originator_version, topic=names.stable_name(e.topic), state=e.state
        )
        for e in events
    ]


def subjects_of(ledger: CaseLedger, case_id: UUID) -> list[str]:
    """The data subjects whose personal data a case holds sealed: its applicant."""
    trail = ledger.trail(case_id)
    applicant = trail[0].payload.get("applicant", {}) if trail else {}
    subject = applicant.get("subject") if isinstance(applicant, dict) else None
    return [subject] if isinstance(subject, str) and subject else []


def events_of(case_id: UUID, records: list[handoff_pb2.TrailRecord]) -> list[StoredEvent]:
    return [StoredEvent(case_id, r.version, r.topic, r.state) for r in records]


@dataclass(frozen=True)
class Answer:
    outcome: int  # types_pb2.TransferOutcome
    version: int
    owner: str


def answer_of(case: Case, target: str) -> Answer:
    """What `target` answered to the case's last transfer request to it, as far as known."""
    if case.transfer_to == target:
        return Answer(types_pb2.TRANSFER_OUTCOME_PENDING, case.version, case.owner)
    if case.owner == target:
        return Answer(types_pb2.TRANSFER_OUTCOME_ACCEPTED, case.version, case.owner)
    return Answer(types_pb2.TRANSFER_OUTCOME_REJECTED, case.version, case.owner)


class Handoffs:
    def __init__(
        self,
        ledger: CaseLedger,
        directory: Mapping[str, str],
        own_address: Callable[[], str],
        *,
        armed: str = "",
        simulated_time: bool = False,
        transport: Transport = INSECURE,
        sealing: X25519PrivateKey | None = None,
        workers: Workers | None = None,
        key_peers: KeyPeers | None = None,
    ) -> None:
        self._ledger = ledger
        self._workers = workers if workers is not None else Workers()
        self._transport = transport
        # The key subject keys are wrapped to when a case is handed here (None
        # on an insecure node, which takes cases without their subjects' keys).
        self._sealing = sealing
        # Who shares which subject's key, so an erasure reaches every copy.
        self.erasures = (
            Erasures(ledger, key_peers, directory, transport) if key_peers is not None else None
        )
        self.directory = directory
        self._own_address = own_address
        self.armed = armed
        # Where requests carry their own time (simulation, migration), an answer
        # happens at the request's time rather than at this machine's.
        self._simulated_time = simulated_time
        self._pending: set[UUID] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._requests: LogTail | None = None
        self._thread = threading.Thread(target=self._retry, name="handoffs", daemon=True)

    def address_of(self, code: str) -> str | None:
        return self.directory.get(code)

    def start(self) -> None:
        self._workers.started(HANDOFFS)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        if self._requests is not None:
            self._requests.stop()
        if self.erasures is not None:
            self.erasures.peers.close()

    # -- the owner's side ------------------------------------------------------

    def offer(self, case_id: UUID) -> Answer:
        """Offer a case this node asked to transfer; PENDING if the target is unreachable."""
        case = self._ledger.case(case_id)
        target = case.transfer_to
        if not target or case.owner != self._ledger.node:
            return answer_of(case, target or case.owner)
        address = self.directory[target]
        try:
            with self._transport.channel(address, target) as channel:
                reply = handoff_pb2_grpc.HandoffServiceStub(channel).OfferCase(
                    handoff_pb2.OfferCaseRequest(
                        case_id=str(case_id),
                        from_node=self._ledger.node,
                        from_address=self._own_address(),
                    ),
                    timeout=_OFFER_TIMEOUT,
                )
                failpoint("handoff.owner.answered", self.armed)
                self.pull(case_id, target, channel)
        except grpc.RpcError as error:
            if error.code() is grpc.StatusCode.DATA_LOSS:
                # The target holds another history of the case (it records
                # the conflict); asked again, it answers the same until an
                # operator settles it.
                _log.error(
                    "transfer refused: the target holds another history of the case",
                    case=case.number,
                    target=target,
                    evidence=error.details(),
                )
            else:
                _log.info(
                    "transfer offer not answered",
                    case=case.number,
                    target=target,
                    code=str(error.code()),
                )
            with self._lock:
                self._pending.add(case_id)
            return Answer(types_pb2.TRANSFER_OUTCOME_PENDING, case.version, case.owner)
        with self._lock:
            self._pending.discard(case_id)
        _log.info("transfer answered", case=case.number, target=target, outcome=reply.outcome)
        return Answer(reply.outcome, reply.version, reply.owner)

    def pull(self, case_id: UUID, source: str, channel: grpc.Channel) -> int:
        """Fetch and store, verified, the events of a case `source` holds and this
        node lacks, and the claim of its case number, so the number resolves here."""
        stored = self._pull_aggregate(case_id, source, channel)
        number = self._ledger.case(case_id).number
        claim = number_index_id(number)
        if not self._ledger.held.stored_trail(claim):
            self._pull_aggregate(claim, source, channel)
        return stored

    def _pull_aggregate(self, aggregate_id: UUID, source: str, channel: grpc.Channel) -> int:
        # From the first version missing: a later part may be here already
        # (it came by another path), and must match the source's copy.
        held = 0
        for stored in self._ledger.held.stored_trail(aggregate_id):
            if stored.originator_version != held + 1:
                break
            held += 1
        reply = handoff_pb2_grpc.HandoffServiceStub(channel).ExportTrail(
            handoff_pb2.ExportTrailRequest(case_id=str(aggregate_id), after_version=held)
        )
        events = events_of(aggregate_id, list(reply.records))
        return self._ledger.held.import_trail(source, events)

    def _open_requests(self) -> set[UUID]:
        """Cases of the transfer requests the log delivered since the last look
        that this node requested and no target has answered yet."""
        if self._requests is None:
            # Stored under its stable name, or an alias before the names existed.
            topics = names.topics_for([TransferRequested.NAME])
            self._requests = self._ledger.held.follow_authored(0, topics, name="handoff-tail")
        found: set[UUID] = set()
        while page := self._requests.take(_PAGE, timeout=0):
            for notification in page:
                try:
                    case = self._ledger.case(UUID(str(notification.originator_id)))
                except LedgerError as error:
                    # A damaged trail must not keep the node from handing over others.
                    _log.error("handoff not resumed: the case cannot be read", error=str(error))
                    continue
                if case.transfer_to and case.owner == self._ledger.node:
                    found.add(case.id)
        return found

    def _take_requests(self) -> bool:
        """Add the open transfer requests that came to the pending set; False if
        the log could not be read (reported, and followed again next round)."""
        try:
            found = self._open_requests()
        except Exception as error:
            self._workers.failed(HANDOFFS, error, what="transfer requests")
            if self._requests is not None:
                self._requests.stop()
            self._requests = None
            return False
        with self._lock:
            self._pending.update(found)
        return True

    def _retry(self) -> None:
        # Subscribed before the first wait, so the round after it has them.
        self._take_requests()
        # Every round is the retry of the last: a failure waits at most a round.
        while not self._stopping.wait(_RETRY_SECONDS):
            failed = not self._take_requests()
            with self._lock:
                pending = list(self._pending)
            for case_id in pending:
                if self._stopping.is_set():
                    return
                try:
                    self.offer(case_id)
                except LedgerError as error:
                    # Damage here, or another copy at the target pulled back:
                    # reported each round, and the other handoffs go on.
                    _log.error("handoff not offered", case=str(case_id), error=str(error))
                except Exception as error:
                    # A store error or a bug: shown in the node's health, never
                    # the end of the thread that resumes every other handoff.
                    self._workers.failed(HANDOFFS, error, case=str(case_id))
                    failed = True
            if self.erasures is not None:
                try:
                    self.erasures.deliver()
                except Exception as error:
                    self._workers.failed(HANDOFFS, error, what="erasure notices")
                    failed = True
            if not failed:
                self._workers.succeeded(HANDOFFS)

    # -- the target's side -----------------------------------------------------

    def _take_keys(self, case_id: UUID, source: str, channel: grpc.Channel) -> None:
        """Keep the keys of the case's data subjects, wrapped by `source` to this
        node's sealing key, so the applicant's data opens here too. Without them
        the case is still taken: its personal data then reads as sealed."""
        if self._sealing is None:
            return
        try:
            reply = handoff_pb2_grpc.HandoffServiceStub(channel).ExportSubjectKeys(
                handoff_pb2.ExportSubjectKeysRequest(case_id=str(case_id)),
                timeout=_OFFER_TIMEOUT,
            )
        except grpc.RpcError as error:
            _log.error(
                "subject keys not received: the applicant's data stays sealed here",
                case=str(case_id),
                source=source,
                code=str(error.code()),
                error=str(error.details()),
            )
            return
        for wrapped in reply.keys:
            try:
                key = unwrap(
                    wrapped.wrapped,
                    case=str(case_id),
                    subject=wrapped.subject,
                    private=self._sealing,
                )
            except UnwrapFailed as error:
                _log.error("a subject key does not open", case=str(case_id), error=str(error))
                continue
            self._ledger.keys.adopt(wrapped.subject, key)
            if self.erasures is not None:
                self.erasures.adopted(wrapped.subject, source, case_id)

    def answer(self, case_id: UUID, from_node: str, now: datetime) -> Answer:
        """Take or decline a case offered to this node (idempotent).

        The trail is pulled from the address the network file gives the
        offering node, never from one the offer names: a caller cannot make
        this node dial out. A node not in the network file is refused."""
        address = self.directory.get(from_node)
        if address is None:
            raise InvalidInput.single("from_node", "no node with this code is in the network")
        with self._transport.channel(address, from_node) as channel:
            self.pull(case_id, from_node, channel)
            self._take_keys(case_id, from_node, channel)
        failpoint("handoff.target.imported", self.armed)
        case = self._ledger.case(case_id)
        if case.transfer_to != self._ledger.node:
            return answer_of(case, self._ledger.node)
        at = case.modified_on if self._simulated_time else max(now, case.modified_on)
        ctx = Context(
            node=self._ledger.node,
            operator=SYSTEM,
            at=at,
            request_id=f"handoff:{case_id}:{case.version}",
            request_digest="",
        )
        try:
            self._ledger.item(case.item["implementation_code"])
        except ItemNotFound:
            reason = "本节点未实施该事项 (this node does not implement the item)"
            self._ledger.execute(case_id, ctx, lambda c, x: c.reject_transfer(x, reason))
        else:
            self._ledger.execute(case_id, ctx, lambda c, x: c.accept_transfer(x))
        failpoint("handoff.target.answered", self.armed)
        return answer_of(self._ledger.case(case_id), self._ledger.node)
