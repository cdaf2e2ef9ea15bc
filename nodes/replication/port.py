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
- lag is measured and exported per source, and is unknown (NaN), not the
  last value, while the feed cannot reach the source (`unreachable`);
- one case's broken trail stops only that case: the intake quarantines it
  with its evidence (`ledger.trail.quarantine`), holds its later events, and
  stores the rest of the batch with the batch's position, so the source's
  other cases go on. Every quarantined case is counted
  (`caseledger_quarantined_cases`, by source and reason) and logged at error
  level with the evidence, whichever path met it (a feed, a handoff, the
  courier's deliveries);
- a gap in a source's log is reported where it is checkable: a feed that
  reads a source's whole log in order (the gRPC stream without a topic
  filter) hands each batch to `note_gaps` first, and positions that never
  came are recorded as a `log_gap`. A filtered stream skips positions by
  design, and a Kafka partition holds only some of a source's log (keyed by
  case) with re-sent records at new offsets, so neither can tell a hole from
  a skip; there a missing event shows as a version gap of its case, which
  every read of the case reports (`TrailDamaged`).

Checkpoints travel with the events (docs/audit.md, "Witnesses"): a feed that
reads a source's own log hands the leaves of what it received to the
intake's `witness` before storing it (so nothing stored escapes the witness,
and a redelivery only repeats what it already holds), and each signed
checkpoint the source sent after the events it covers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Protocol

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from caseledger.ledger.errors import UnreadableEvent
from caseledger.ledger.trail.quarantine import Entry, Reason
from caseledger.ledger.trail.received import Delivery, KnownHashes, ReceivedEvents, TrailBroken

_log = structlog.get_logger("caseledger.nodes.replication.port")


class Witnessing(Protocol):
    """What a node does with its descendants' checkpoints (`witnessing.NodeWitness`)."""

    def received(self, node: str, leaves: Sequence[tuple[int, bytes]]) -> None:
        """Leaves of `node`'s own log received: (log position, leaf hash)."""
        ...

    def checkpoint(self, node: str, note: str, certificate: bytes) -> None:
        """A signed checkpoint of `node`, with the certificate binding its key."""
        ...


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
            "Source head minus applied position; NaN (unknown) while the source is unreachable",
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
        self.quarantined = Gauge(
            "caseledger_quarantined_cases",
            "Cases (and gaps in a source's log) held in quarantine, by source and reason",
            ["source", "reason"],
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
        # Set when this node witnesses its sources' checkpoints.
        self.witness: Witnessing | None = None
        quarantine = received.quarantine
        if quarantine is not None:
            for entry in quarantine.entries():
                self._count(entry)
            quarantine.observe(self._quarantined)

    def position(self, source: str) -> int:
        return self.received.position(source)

    def take(self, source: str, deliveries: Sequence[Delivery], head: int) -> int:
        """Store a batch; a case that does not verify is quarantined and the rest
        stored. Without a quarantine, raise TrailBroken (and store nothing)."""
        try:
            stored = self.received.receive(source, deliveries, self._known)
        except TrailBroken as error:
            self._metrics.broken.labels(source=source).inc()
            _log.error("received trail broken", source=source, error=str(error))
            raise
        if stored:
            self._metrics.received.labels(source=source).inc(stored)
            self._observe_delay(source, deliveries)
        if deliveries:
            self._metrics.lag.labels(source=source).set(max(0, head - deliveries[-1].position))
        if self.observer is not None and stored:
            self.observer(deliveries, time.time())
        return stored

    def caught_up(self, source: str, head: int, filtered: bool) -> None:
        """The source has nothing more to send now: its lag is known again.
        A filtered stream's head counts every record of the source's log,
        most of which it never carries, so its lag is then 0."""
        lag = 0 if filtered else max(0, head - self.position(source))
        self._metrics.lag.labels(source=source).set(lag)

    def unreachable(self, source: str) -> None:
        """The feed lost `source`: its lag is unknown (NaN, which Prometheus and
        `network up` show as such) until its next batch, never the last value
        seen, which would read 0 for a source that died caught up."""
        self._metrics.lag.labels(source=source).set(math.nan)

    def note_gaps(self, source: str, deliveries: Sequence[Delivery]) -> None:
        """For a feed that delivers a source's whole log in order: record the
        positions after the tracked one that the deliveries skip (a hole in
        the source's log). Call before `take`: a gap found again is recorded once."""
        expected = self.position(source) + 1
        for delivery in deliveries:
            if delivery.position > expected:
                last = delivery.position - 1
                self._record(
                    Entry(
                        case="",
                        source=source,
                        version=expected,
                        reason=Reason.LOG_GAP,
                        detail=f"positions {expected}..{last} of the source's log never came",
                    )
                )
            expected = max(expected, delivery.position + 1)

    def skip(self, source: str, position: int, detail: str) -> None:
        """Record that the event at `position` of `source` cannot be carried,
        and move the source's position past it, so the feed goes on."""
        self._record(
            Entry(case="", source=source, version=position, reason=Reason.UNCARRIED, detail=detail)
        )
        if position > self.position(source):
            self.received.advance(source, position)

    def advance(self, source: str, position: int) -> None:
        """Move `source`'s position past records that carry no event (a
        Kafka checkpoint topic's), so they are not read again."""
        if position > self.position(source):
            self.received.advance(source, position)

    def _record(self, entry: Entry) -> None:
        quarantine = self.received.quarantine
        if quarantine is None:
            self._quarantined(entry)  # no store to keep it in: reported all the same
        else:
            quarantine.record(entry)

    def _observe_delay(self, source: str, deliveries: Sequence[Delivery]) -> None:
        # One sample per batch: decoding every event again would cost more
        # than storing it. A newest event that was held instead gives none.
        try:
            newest = self.received.decode(deliveries[-1].event)
        except UnreadableEvent:
            return
        delay = time.time() - newest.timestamp.timestamp()
        self._metrics.delay.labels(source=source).observe(max(0.0, delay))

    def _count(self, entry: Entry) -> None:
        self._metrics.quarantined.labels(source=entry.source, reason=str(entry.reason)).inc()

    def _quarantined(self, entry: Entry) -> None:
        """Each new quarantine record, whichever path met it: counted, and logged
        with its evidence."""
        self._count(entry)
        if entry.reason is not Reason.LOG_GAP and entry.reason is not Reason.UNCARRIED:
            self._metrics.broken.labels(source=entry.source).inc()
        _log.error(
            "case quarantined" if entry.case else "source log damaged",
            case=entry.case or None,
            source=entry.source,
            version=entry.version,
            reason=str(entry.reason),
            detail=entry.detail,
            held_hash=entry.held_hash or None,
            received_hash=entry.received_hash or None,
        )
