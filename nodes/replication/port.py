"""The replication port: how a node receives the events of other nodes.

A feed delivers, per source, that source's authored events in the source's
order, starting after the last position this node recorded for the source.
Two adapters implement it: `grpc_feed.LogStreamFeed` (pulls each source
node's log stream; the embedded default) and `kafka_feed.KafkaFeed` (reads
each source's topic from a broker). Both hand what they receive to the same
`Intake`, which verifies it and writes it with its position in one
transaction, so the guarantees are the same whichever adapter runs:

- nothing a source acknowledged is lost (a source's log is durable; the feed
  resumes from its own tracking records, never from the transport's memory);
- nothing is applied twice (position and event identity are both checked);
- per-case order is kept (a source's log is in append order, and within a
  case only one node appends at a time);
- lag is measured and exported per source.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Protocol

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from caseledger.ledger.trail.received import Delivery, KnownHashes, ReceivedEvents, TrailBroken

_log = structlog.get_logger("caseledger.nodes.replication.port")


class Feed(Protocol):
    """A running subscription to other nodes' events."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


class FeedMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.received = Counter(
            "caseledger_events_received",
            "Events received and stored, by source",
            ["source"],
            registry=registry,
        )
        self.lag = Gauge(
            "caseledger_replication_lag_events",
            "Source head minus applied position",
            ["source"],
            registry=registry,
        )
        self.delay = Histogram(
            "caseledger_replication_delay_seconds",
            "Time from an event's append at its source to its storage here",
            ["source"],
            registry=registry,
            buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.broken = Counter(
            "caseledger_trail_breaks",
            "Received events that did not verify",
            ["source"],
            registry=registry,
        )


class Intake:
    """Where every adapter hands its deliveries: verify, store with position, count."""

    def __init__(self, received: ReceivedEvents, known: KnownHashes, metrics: FeedMetrics) -> None:
        self.received = received
        self._known = known
        self._metrics = metrics
        # Called after each stored batch with its deliveries and the time it was
        # stored; the replication benchmark measures lag per event with it.
        self.observer: Callable[[Sequence[Delivery], float], None] | None = None

    def position(self, source: str) -> int:
        return self.received.position(source)

    def take(self, source: str, deliveries: Sequence[Delivery], head: int) -> int:
        """Store a batch; raise TrailBroken (and store nothing) if it does not verify."""
        try:
            stored = self.received.receive(source, deliveries, self._known)
        except TrailBroken as error:
            self._metrics.broken.labels(source=source).inc()
            _log.error("received trail broken", source=source, error=str(error))
            raise
        if stored:
            self._metrics.received.labels(source=source).inc(stored)
            # One sample per batch: decoding every event again would cost more
            # than storing it.
            newest = self.received.decode(deliveries[-1].event)
            delay = time.time() - newest.timestamp.timestamp()
            self._metrics.delay.labels(source=source).observe(max(0.0, delay))
        if deliveries:
            self._metrics.lag.labels(source=source).set(max(0, head - deliveries[-1].position))
        if self.observer is not None and stored:
            self.observer(deliveries, time.time())
        return stored
