"""The LogService: a node's authored log as a resumable stream.

A replica asks for the records after the last position it applied and gets
them in pages of at most 500, each with the log's head (for lag). Without
`follow` it is a read of what the log holds, and ends there. With `follow`
the stream is one of the log's followers (`HeldEvents.follow_authored`): the
store's subscription from the position asked, woken by every commit of this
process and polling for those of others, so a new event goes out as soon as
it is durable. It ends when the client cancels, the node stops, or `limit`
records were sent.

Who gets what follows the network's shape, by the caller's certificate: a
node above this one (its ancestors) gets the case events; a node below it gets
reference events only (the catalogue); any other node gets nothing. A client
(an auditor's CLI) reads the log to check the node's Merkle log.

Each batch of an unfiltered stream carries the node's signed checkpoint of
its log up to the batch's last record, with its certificate, once the
witness is attached (`witnessing.attach_witness`): whoever follows the
whole log can check that what the node signs is what it sent. When the tree
has not reached a batch's last position yet (a Cassandra store's follows
its log), that checkpoint comes later on its own, in a batch of no records.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

import grpc
from eventsourcing.persistence import Notification

from caseledger.ledger import names
from caseledger.ledger.application import CaseLedger
from caseledger.ledger.catalogue import REFERENCE_DATA_TOPICS
from caseledger.ledger.codes.division import DivisionCode
from caseledger.ledger.errors import InvalidInput, UnknownEventName
from caseledger.ledger.held.following import LogTail
from caseledger.ledger.limits import MAX_BATCH_BYTES
from caseledger.nodes.service.gate import Gate
from caseledger.nodes.service.status import status_of
from caseledger.nodes.service.witnessing import attached
from caseledger.v1 import log_pb2, log_pb2_grpc

_PAGE = 500
# A page is also cut before its records' states pass MAX_BATCH_BYTES (one
# record at least, and none is over MAX_EVENT_BYTES), so a batch stays within
# the message size a follower takes whatever the events hold; the rest of the
# page is read again for the next batch.
_IDLE_SECONDS = 0.5  # how often an idle stream looks whether it should end


class LogService(log_pb2_grpc.LogServiceServicer):
    def __init__(
        self, ledger: CaseLedger, stopping: threading.Event, gate: Gate | None = None
    ) -> None:
        self._ledger = ledger
        self._stopping = stopping
        self._gate = gate  # None on an --insecure node: no caller is known

    def _admit(self, request: log_pb2.StreamLogRequest, context: grpc.ServicerContext) -> None:
        if self._gate is None:
            return
        caller = self._gate.caller_of(context)
        if caller.node is None or caller.node == self._ledger.node:
            return
        me, them = DivisionCode.parse(self._ledger.node), DivisionCode.parse(caller.node)
        if them.contains(me):
            return
        if me.contains(them):
            asked = set(request.topics)
            if asked and asked <= set(REFERENCE_DATA_TOPICS):
                return
            reason = "REFERENCE_ONLY"
            text = (
                f"node {caller.node} is below {self._ledger.node}: it gets reference events "
                f"only (topics {', '.join(REFERENCE_DATA_TOPICS)})"
            )
        else:
            reason = "NOT_AN_ANCESTOR"
            text = f"node {caller.node} is neither above nor below {self._ledger.node}"
        self._gate.refuse(context, "StreamLog", grpc.StatusCode.PERMISSION_DENIED, reason, text)

    def StreamLog(
        self, request: log_pb2.StreamLogRequest, context: grpc.ServicerContext
    ) -> Iterator[log_pb2.LogBatch]:
        self._admit(request, context)
        if request.after < 0 or request.limit < 0:
            field = "after" if request.after < 0 else "limit"
            context.abort_with_status(status_of(InvalidInput.single(field, "must not be negative")))
        try:
            # Stable names (docs/events.md), matched with their aliases in the store.
            topics = names.topics_for(request.topics)
        except UnknownEventName as error:
            context.abort_with_status(status_of(InvalidInput.single("topics", str(error))))
        after, left = request.after, request.limit or -1
        if not request.follow:
            yield from self._read(request, context, topics, after, left)
            return
        with self._ledger.held.follow_authored(after, topics, name="log-stream") as tail:
            yield from self._follow(request, context, tail, left)

    def _read(
        self,
        request: log_pb2.StreamLogRequest,
        context: grpc.ServicerContext,
        topics: Sequence[str],
        after: int,
        left: int,
    ) -> Iterator[log_pb2.LogBatch]:
        """The records after `after` as the log holds them now, then the end."""
        certified = False
        while context.is_active() and not self._stopping.is_set():
            limit = _PAGE if left < 0 else min(_PAGE, left)
            page = self._ledger.held.read_authored(after, limit, topics)
            fetched = len(page)
            page = within_bytes(page, MAX_BATCH_BYTES)
            if not page:
                return
            batch, certified = self._batch(request, page, certified)
            yield batch
            after = page[-1].id
            left -= len(page) if left > 0 else 0
            if left == 0 or (fetched < limit and len(page) == fetched):
                return

    def _follow(
        self,
        request: log_pb2.StreamLogRequest,
        context: grpc.ServicerContext,
        tail: LogTail,
        left: int,
    ) -> Iterator[log_pb2.LogBatch]:
        """The records as the log's subscription delivers them, until the client
        cancels, the node stops or `limit` records were sent."""
        # The last position sent whose checkpoint could not go with it (the
        # tree had not reached it yet): sent on its own once it can.
        owed = 0
        certified = False  # the certificate goes with the stream's first checkpoint only
        # A batch with no records, once, when the stream first has nothing more
        # to send: the follower learns that it has caught up (its lag is known
        # again after an outage even if the source then stays idle, which a
        # filtered stream of rare reference data mostly does).
        said_caught_up = False
        while context.is_active() and not self._stopping.is_set():
            limit = _PAGE if left < 0 else min(_PAGE, left)
            # Caught up with a checkpoint owed: look once, and send it if nothing came.
            page = tail.take(limit, timeout=0 if owed else _IDLE_SECONDS)
            if not page and owed:
                late = self._checkpoint_at(owed, certified)
                if late is not None:
                    owed, certified, said_caught_up = 0, True, True
                    yield log_pb2.LogBatch(checkpoint=late, head=self._ledger.held.head())
                    continue
                page = tail.take(limit, timeout=_IDLE_SECONDS)
            if not page:
                if not said_caught_up:
                    said_caught_up = True
                    yield log_pb2.LogBatch(head=self._ledger.held.head())
                continue
            fitting = within_bytes(page, MAX_BATCH_BYTES)
            tail.give_back(page[len(fitting) :])
            batch, certified = self._batch(request, fitting, certified)
            owed = fitting[-1].id if not batch.HasField("checkpoint") and not request.topics else 0
            yield batch
            left -= len(fitting) if left > 0 else 0
            if left == 0:
                return

    def _batch(
        self, request: log_pb2.StreamLogRequest, page: Sequence[Notification], certified: bool
    ) -> tuple[log_pb2.LogBatch, bool]:
        """A page as a batch, with the checkpoint of the log up to its last record
        when the stream is unfiltered and the tree reaches it."""
        checkpoint = None if request.topics else self._checkpoint_at(page[-1].id, certified)
        batch = log_pb2.LogBatch(
            checkpoint=checkpoint,
            records=[
                log_pb2.LogRecord(
                    position=n.id,
                    originator_id=str(n.originator_id),
                    originator_version=n.originator_version,
                    topic=names.stable_name(n.topic),
                    state=n.state,
                )
                for n in page
            ],
            head=self._ledger.held.head(),
        )
        return batch, certified or checkpoint is not None

    def _checkpoint_at(self, position: int, certified: bool) -> log_pb2.SignedCheckpoint | None:
        attachment = attached(self._ledger)
        if attachment is None:
            return None
        carried = attachment.carried(position)
        if carried is not None and certified:
            carried.ClearField("certificate")
        return carried


def within_bytes(page: Sequence[Notification], budget: int) -> Sequence[Notification]:
    """The longest head of `page` whose states fit in `budget` bytes; never empty
    unless `page` is."""
    used = 0
    for index, notification in enumerate(page):
        used += len(notification.state)
        if used > budget and index > 0:
            return page[:index]
    return page
