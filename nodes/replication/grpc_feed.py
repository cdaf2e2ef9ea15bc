"""The embedded-default feed: pull each source node's log stream over gRPC.

One thread per source. It asks for the records after the position this node
recorded for the source, follows the stream, and writes each batch the
source sends (a page while catching up; what one commit appended once caught
up) through the `Intake`, in one transaction. A
broken connection is retried with backoff from the recorded position, so a
restart of either side loses and repeats nothing.

An unfiltered stream is the source's whole log in order, so a position it
skips is a hole in that log: each batch goes to `Intake.note_gaps` before it
is stored. A batch over this node's receive limit is asked for again one
record at a time; a single record still over it cannot be carried, and is
recorded as such (`Intake.skip`) and stepped over, so the source's later
events still come. Nothing stops a source's thread but the node stopping.

A batch of an unfiltered stream carries the source's signed checkpoint of its
log up to the batch's last record: with a witness, the batch's leaves go to
it before the batch is stored, and the checkpoint once it is. A checkpoint
may also come alone, in a batch of no records, when the source's tree
reached the last position sent only after it was sent.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import grpc
import structlog

from caseledger.ledger.limits import MAX_REQUEST_BYTES
from caseledger.ledger.trail.received import TrailBroken
from caseledger.nodes.replication.port import Intake
from caseledger.nodes.replication.records import delivery_of, leaves_of
from caseledger.nodes.trust.transport import INSECURE, Transport
from caseledger.nodes.workers import Workers, feed_worker
from caseledger.v1 import log_pb2, log_pb2_grpc

_log = structlog.get_logger("caseledger.nodes.replication.port")
_BACKOFF_FIRST, _BACKOFF_MAX = 0.1, 2.0
# What a node takes in one message (a log batch is cut far below it, at
# MAX_BATCH_BYTES plus at most one event).
_RECEIVE_LIMIT = MAX_REQUEST_BYTES


@dataclass(frozen=True)
class Source:
    """A node whose log this node pulls: all of it, or only some topics."""

    code: str
    address: str
    topics: tuple[str, ...] = field(default=())

    @property
    def key(self) -> str:
        """The tracking name of this source (its positions are kept apart per filter)."""
        return self.code if not self.topics else f"{self.code}#reference"


class LogStreamFeed:
    def __init__(
        self,
        sources: list[Source],
        intake: Intake,
        transport: Transport = INSECURE,
        workers: Workers | None = None,
    ) -> None:
        self._sources = sources
        self._transport = transport
        self._workers = workers if workers is not None else Workers()
        self._intake = intake
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._calls: dict[str, Any] = {}  # the running StreamLog calls, to cancel
        self._lock = threading.Lock()
        self.broken: dict[str, TrailBroken] = {}

    def start(self) -> None:
        for source in self._sources:
            self._workers.started(feed_worker(source.key))
            thread = threading.Thread(
                target=self._follow, args=(source,), name=f"feed-{source.key}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            for call in self._calls.values():
                call.cancel()
        for thread in self._threads:
            thread.join(timeout=10)

    def _follow(self, source: Source) -> None:
        backoff = _BACKOFF_FIRST
        one_by_one = False  # after a batch over the receive limit
        while not self._stopping.is_set():
            try:
                self._pull(source, one_by_one)
                backoff = _BACKOFF_FIRST
                one_by_one = False
            except TrailBroken as error:
                # Only without a quarantine (with one, a broken case is held
                # apart and the intake goes on).
                self.broken[source.key] = error
                return
            except grpc.RpcError as error:
                if self._stopping.is_set():
                    return
                if error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED:
                    if one_by_one:
                        self._cannot_carry(source, error)
                    one_by_one = True
                    continue
                _log.info("source unreachable", source=source.code, code=str(error.code()))
                # Its lag is unknown while it cannot be reached, not 0.
                self._intake.unreachable(source.key)
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX)
            except Exception as error:
                # A bug, or a store that failed: logged, counted and shown in
                # health (`Workers`), and tried again.
                self._workers.failed(feed_worker(source.key), error, source=source.key)
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX)

    def _cannot_carry(self, source: Source, error: grpc.RpcError) -> None:
        """The next record alone is over the receive limit."""
        after = self._intake.position(source.key)
        if source.topics:
            # A filtered stream does not say where its next record is: report
            # and try again, never step over what may be carried later.
            _log.error(
                "a record of the source is over the receive limit",
                source=source.key,
                after=after,
                limit=_RECEIVE_LIMIT,
            )
            self._stopping.wait(_BACKOFF_MAX)
            return
        detail = f"the record is over this node's receive limit of {_RECEIVE_LIMIT} bytes"
        self._intake.skip(source.key, after + 1, detail)

    def _pull(self, source: Source, one_by_one: bool) -> None:
        after = self._intake.position(source.key)
        options = [("grpc.max_receive_message_length", _RECEIVE_LIMIT)]
        with self._transport.channel(source.address, source.code, options) as channel:
            stub = log_pb2_grpc.LogServiceStub(channel)
            call: Any = stub.StreamLog(
                log_pb2.StreamLogRequest(
                    after=after,
                    follow=not one_by_one,
                    limit=1 if one_by_one else 0,
                    topics=list(source.topics),
                )
            )
            with self._lock:
                self._calls[source.key] = call
            if self._stopping.is_set():
                call.cancel()
            for batch in call:
                deliveries = [delivery_of(r) for r in batch.records]
                witness = None if source.topics else self._intake.witness
                if not source.topics:
                    self._intake.note_gaps(source.key, deliveries)
                if witness is not None:
                    witness.received(source.code, leaves_of(batch.records))
                if deliveries:
                    self._intake.take(source.key, deliveries, batch.head)
                else:
                    self._intake.caught_up(source.key, batch.head, filtered=bool(source.topics))
                self._workers.succeeded(feed_worker(source.key))
                if witness is not None and batch.HasField("checkpoint"):
                    signed = batch.checkpoint
                    witness.checkpoint(source.code, signed.note, signed.certificate)
