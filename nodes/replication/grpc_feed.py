"""The embedded-default feed: pull each source node's log stream over gRPC.

Threads are fixed, whatever the number of sources: one thread runs an
asyncio loop that follows every source's stream (`grpc.aio`, one task per
source), and one writer thread does every write to this node's store for all
of them, one batch at a time, so a slow store holds up the writes and never
the loop's reading. A province follows its ~1,800 townships with these two
threads (and gRPC's own few), not a thread per township.

Per source, the task asks for the records after the position this node
recorded for the source, follows the stream, and writes each batch the
source sends (a page while catching up; what one commit appended once caught
up) through the `Intake`, in one transaction, waiting for that write before
it reads on: a source's batches are stored in its order, and a source that
sends faster than the store takes is held back by gRPC's flow control
rather than queued in memory. A broken connection is retried with backoff
from the recorded position, so a restart of either side loses and repeats
nothing.

An unfiltered stream is the source's whole log in order, so a position it
skips is a hole in that log: each batch goes to `Intake.note_gaps` before it
is stored. A batch over this node's receive limit is asked for again one
record at a time; a single record still over it cannot be carried, and is
recorded as such (`Intake.skip`) and stepped over, so the source's later
events still come. Nothing stops a source's task but the node stopping (or,
without a quarantine, a broken trail: `broken`).

A batch of an unfiltered stream carries the source's signed checkpoint of its
log up to the batch's last record: with a witness, the batch's leaves go to
it before the batch is stored, and the checkpoint once it is. A checkpoint
may also come alone, in a batch of no records, when the source's tree
reached the last position sent only after it was sent.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
import structlog

from caseledger.ledger.limits import MAX_REQUEST_BYTES
from caseledger.ledger.trail.received import TrailBroken
from caseledger.nodes.replication.port import Intake
from caseledger.nodes.replication.records import delivery_of, leaves_of
from caseledger.nodes.trust.transport import CHANNEL_KEEPALIVE, INSECURE, Transport
from caseledger.nodes.workers import Workers, feed_worker
from caseledger.v1 import log_pb2, log_pb2_grpc

_log = structlog.get_logger("caseledger.nodes.replication.port")
_BACKOFF_FIRST, _BACKOFF_MAX = 0.1, 2.0
# What a node takes in one message (a log batch is cut far below it, at
# MAX_BATCH_BYTES plus at most one event).
_RECEIVE_LIMIT = MAX_REQUEST_BYTES
_STOP_SECONDS = 10.0

_T = TypeVar("_T")


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
    """Follows every source's log stream from one asyncio loop and one writer thread."""

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
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._tasks: list[asyncio.Task[None]] = []
        # Every write to the store, for all sources, in the order the tasks ask.
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="feed-intake")
        self._credentials = transport.channel_credentials() if transport.secure else None
        self.broken: dict[str, TrailBroken] = {}

    def start(self) -> None:
        for source in self._sources:
            self._workers.started(feed_worker(source.key))
        loop = asyncio.new_event_loop()
        self._loop = loop
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            self._tasks = [loop.create_task(self._follow(source)) for source in self._sources]
            loop.call_soon(started.set)
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name="feed-log-streams", daemon=True)
        self._thread.start()
        started.wait()

    def stop(self) -> None:
        self._stopping.set()
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            ended = asyncio.run_coroutine_threadsafe(self._end(), loop)
            try:
                ended.result(timeout=_STOP_SECONDS)
            except TimeoutError:
                _log.warning("log streams did not end in time")
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=_STOP_SECONDS)
        # The write under way finishes (its transaction is whole either way);
        # none queued behind it starts.
        self._writer.shutdown(wait=True, cancel_futures=True)

    async def _end(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _write(self, work: Callable[[], _T]) -> _T:
        """Run `work` on the writer thread; the loop goes on meanwhile."""
        return await asyncio.get_running_loop().run_in_executor(self._writer, work)

    async def _follow(self, source: Source) -> None:
        backoff = _BACKOFF_FIRST
        one_by_one = False  # after a batch over the receive limit
        while not self._stopping.is_set():
            try:
                await self._pull(source, one_by_one)
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
                        await self._cannot_carry(source)
                    one_by_one = True
                    continue
                _log.info("source unreachable", source=source.code, code=str(error.code()))
                # Its lag is unknown while it cannot be reached, not 0.
                await self._write(lambda: self._intake.unreachable(source.key))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                # A bug, or a store that failed: logged, counted and shown in
                # health (`Workers`), and tried again.
                if self._stopping.is_set():
                    return
                self._workers.failed(feed_worker(source.key), error, source=source.key)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX)

    async def _cannot_carry(self, source: Source) -> None:
        """The next record alone is over the receive limit."""
        after = await self._write(lambda: self._intake.position(source.key))
        if source.topics:
            # A filtered stream does not say where its next record is: report
            # and try again, never step over what may be carried later.
            _log.error(
                "a record of the source is over the receive limit",
                source=source.key,
                after=after,
                limit=_RECEIVE_LIMIT,
            )
            await asyncio.sleep(_BACKOFF_MAX)
            return
        detail = f"the record is over this node's receive limit of {_RECEIVE_LIMIT} bytes"
        await self._write(lambda: self._intake.skip(source.key, after + 1, detail))

    def _channel(self, source: Source) -> grpc.aio.Channel:
        """A channel to `source` as `Transport.channel` makes one, for this loop."""
        options: list[tuple[str, Any]] = [
            ("grpc.max_receive_message_length", _RECEIVE_LIMIT),
            *CHANNEL_KEEPALIVE,
        ]
        if self._credentials is None:
            return grpc.aio.insecure_channel(source.address, options=options)
        options += self._transport.name_options(source.code)
        return grpc.aio.secure_channel(source.address, self._credentials, options=options)

    async def _pull(self, source: Source, one_by_one: bool) -> None:
        after = await self._write(lambda: self._intake.position(source.key))
        async with self._channel(source) as channel:
            stub = log_pb2_grpc.LogServiceStub(channel)
            call: Any = stub.StreamLog(
                log_pb2.StreamLogRequest(
                    after=after,
                    follow=not one_by_one,
                    limit=1 if one_by_one else 0,
                    topics=list(source.topics),
                )
            )
            async for batch in call:
                await self._write(functools.partial(self._store, source, batch))
                if self._stopping.is_set():
                    return

    def _store(self, source: Source, batch: log_pb2.LogBatch) -> None:
        """One received batch, on the writer thread: gaps, leaves, events, checkpoint."""
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
