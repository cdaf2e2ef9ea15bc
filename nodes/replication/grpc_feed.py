"""The embedded-default feed: pull each source node's log stream over gRPC.

One thread per source. It asks for the records after the position this node
recorded for the source, follows the stream, and writes each batch the
source sends (a page while catching up; what one commit appended once caught
up) through the `Intake`, in one transaction. A
broken connection is retried with backoff from the recorded position, so a
restart of either side loses and repeats nothing.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import grpc
import structlog

from caseledger.ledger.trail.received import TrailBroken
from caseledger.nodes.replication.port import Intake
from caseledger.nodes.replication.records import delivery_of
from caseledger.v1 import log_pb2, log_pb2_grpc

_log = structlog.get_logger("caseledger.nodes.replication.port")
_BACKOFF_FIRST, _BACKOFF_MAX = 0.1, 2.0


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
    def __init__(self, sources: list[Source], intake: Intake) -> None:
        self._sources = sources
        self._intake = intake
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._calls: dict[str, Any] = {}  # the running StreamLog calls, to cancel
        self._lock = threading.Lock()
        self.broken: dict[str, TrailBroken] = {}

    def start(self) -> None:
        for source in self._sources:
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
        while not self._stopping.is_set():
            try:
                self._pull(source)
                backoff = _BACKOFF_FIRST
            except TrailBroken as error:
                self.broken[source.key] = error
                return  # history from this source does not verify: stop here, loudly
            except grpc.RpcError as error:
                if self._stopping.is_set():
                    return
                _log.info("source unreachable", source=source.code, code=str(error.code()))
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX)

    def _pull(self, source: Source) -> None:
        after = self._intake.position(source.key)
        with grpc.insecure_channel(source.address) as channel:
            stub = log_pb2_grpc.LogServiceStub(channel)
            call: Any = stub.StreamLog(
                log_pb2.StreamLogRequest(after=after, follow=True, topics=list(source.topics))
            )
            with self._lock:
                self._calls[source.key] = call
            if self._stopping.is_set():
                call.cancel()
            for batch in call:
                self._intake.take(source.key, [delivery_of(r) for r in batch.records], batch.head)
