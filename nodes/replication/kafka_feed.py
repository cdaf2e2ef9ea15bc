"""The Kafka adapter of the replication port (at scale): publish what a node
authored, consume what its subtree authored.

Topics. Node `C` publishes every event it authored to `{prefix}.C` (authored
topic), keyed by case id (the originator id) so that one case's events stay
in one partition in append order. Catalogue events (事项发布/变更, the
reference data) go to `{prefix}.C.reference` as well. A node consumes, by
one topic pattern:

- the authored topic of every node in its subtree (a prefix test on the code
  in the topic name, its own topic excluded): the province reads every
  township directly, with no relay and no multiplication;
- the reference topic of each of its ancestors, and stores only catalogue
  events from them. A separate reference topic, rather than filtering the
  ancestors' authored topics, keeps a township from reading the province's
  whole case traffic to find the few catalogue events in it, and lets every
  record it reads advance its position.

Each record's value is the serialized `caseledger.v1.LogRecord`, the same
record the gRPC log stream carries. Checkpoints travel beside the events:
after each page is confirmed, the publisher of a node that signs them sends
its checkpoint of the log up to the page's last position to
`{prefix}.C.checkpoints` (a `caseledger.v1.SignedCheckpoint`), and an
ancestor consumes its subtree's checkpoint topics with its authored ones and
hands them to its witness, which waits, if need be, for the events a
checkpoint covers (they come on other partitions, in their own time).

Publishing stalled. When the brokers cannot take the node's records (too
few replicas in sync on a cluster, below `min.insync.replicas`, or no
broker reachable), the producer retries and the page waits. The node keeps
taking appends all the same; they queue in its own log. A watch beside the
publisher says so once a page has waited `stall_after` seconds, or at once
when the broker refused or could not be reached: the health service
`caseledger.publishing` turns NOT_SERVING, `caseledger_publishing_stalled`
is 1, and a warning names the topic and why; `caseledger_unpublished_events`
counts the authored events not yet confirmed and
`caseledger_publish_waiting_seconds` how long the oldest page has waited.
When a page is confirmed again, all three clear and "publishing resumed" is
logged with how long it stalled.

A topic's partition count is fixed when it is created: adding partitions
would move a case's later events to another partition, where they could
overtake the earlier ones.

Publisher ordering, once: take a page of the authored log after the
published position from the log's subscription (`LogTail`, woken by each
commit) -> cut it where its records pass the producer's request
size (one record at least) -> send it -> flush and confirm every record
(acks=all, idempotent producer) -> record the page's last log position. A
record over the message limit (`max_record_bytes`, kafka-python's and the
broker's default of 1 MiB) can never be carried: it is left out of its
topic, logged at error level and counted by case and version
(`caseledger_events_not_published`), and the publisher goes on; the
consumers then hold the case with a version missing, which every read of it
reports. A crash
between the flush and the record makes the next run send that page again:
the topic is at-least-once (after any failure the publisher subscribes again
from the recorded position, so an unconfirmed page is read again).
Consumers apply exactly once all the same: a re-sent event arrives at a
new offset (so it is not taken for a redelivery), and
`ReceivedEvents.receive` finds the event already stored (an IntegrityError
on its case and version) and stores only the missing ones, advancing the
position.

Consumer positions: tracking name `{topic}/{partition}`, notification id =
offset + 1, written in the same transaction as the events (`Intake.take`).
Every partition starts at the offset its tracking record gives, when the
consumer starts and whenever the pattern picks up a new topic; the consumer
has no group and commits nothing, so the broker's memory of offsets plays no
part. A partition whose tracked offset the broker no longer holds is paused
and reported in `KafkaFeed.broken`. A case whose events do not verify is
quarantined by the intake, and the partition goes on with its other cases.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

import structlog
from eventsourcing.persistence import (
    ApplicationRecorder,
    InfrastructureFactory,
    Notification,
    Tracking,
)
from eventsourcing.utils import Environment
from google.protobuf.message import DecodeError
from prometheus_client import CollectorRegistry, Counter, Gauge

from caseledger.ledger import names
from caseledger.ledger.catalogue import is_reference_data
from caseledger.ledger.held.following import LogTail
from caseledger.ledger.trail.received import Delivery, TrailBroken
from caseledger.nodes.replication.kafka_client import (
    BrokerError,
    BrokerSettings,
    ConsumerSettings,
    Fetched,
    Partition,
    PositionOutOfRange,
    ProducerSettings,
    Record,
    TopicAdmin,
    TopicConsumer,
    TopicProducer,
    TopicSettings,
)
from caseledger.nodes.replication.port import Intake
from caseledger.nodes.replication.records import delivery_of as delivery_of_log_record
from caseledger.nodes.replication.records import leaves_of, record_of
from caseledger.nodes.replication.topics import TopicLayout, create_network_topics
from caseledger.nodes.workers import KAFKA_FEED, PUBLISHER, Workers
from caseledger.v1 import log_pb2

_log = structlog.get_logger("caseledger.nodes.replication.port")
# The layout lives in `topics`; named here too, where the adapter is.
__all__ = [
    "PUBLISHING_HEALTH",
    "KafkaFeed",
    "KafkaPublisher",
    "TopicLayout",
    "create_network_topics",
    "delivery_of",
    "log_record_of",
]
_PAGE = 1_000
_IDLE_SECONDS = 0.5
"""How long an idle publisher waits for the log before it reports and looks again."""
_OWED_SECONDS = 0.05
"""How soon a checkpoint the node could not sign yet is asked for again."""
_POLL_MS = 100
_BACKOFF_FIRST, _BACKOFF_MAX = 0.1, 2.0
MAX_RECORD_BYTES = 1024 * 1024
"""kafka-python's `max_request_size` and, give or take, the broker's
`message.max.bytes`: the largest record a topic takes by default."""
_RECORD_OVERHEAD = 128  # record and batch headers, counted generously
PUBLISHING_HEALTH = "caseledger.publishing"
"""SERVING while the publisher's pages reach the broker; NOT_SERVING while stalled."""
STALL_AFTER_SECONDS = 5.0
"""How long a page may wait for the broker before publishing counts as stalled:
longer than a partition's leader takes to move to another broker."""
_WATCH_SECONDS = 1.0


def log_record_of(record: Record) -> log_pb2.LogRecord:
    return log_pb2.LogRecord.FromString(record.value)


def delivery_of(record: Record) -> Delivery:
    """A consumed record as the port's delivery: its position is offset + 1."""
    return delivery_of_log_record(log_record_of(record), position=record.offset + 1)


def _is_catalogue_event(topic: str) -> bool:
    """Whether a received record's topic (a stable name, or an alias from a
    node that still sends those) is reference data."""
    name = names.known_name(topic)
    return name is not None and is_reference_data(name)


class KafkaPublisher:
    """发布: sends the events this node authored to its topics, and only those."""

    def __init__(
        self,
        code: str,
        log: ApplicationRecorder,
        broker: BrokerSettings,
        layout: TopicLayout,
        positions_env: Mapping[str, str],
        *,
        topics: TopicSettings | None = None,
        producer: ProducerSettings | None = None,
        registry: CollectorRegistry | None = None,
        max_record_bytes: int = MAX_RECORD_BYTES,
        workers: Workers | None = None,
        publishing: Callable[[bool], None] | None = None,
        stall_after: float = STALL_AFTER_SECONDS,
    ) -> None:
        self._workers = workers if workers is not None else Workers()
        registry = registry or CollectorRegistry()
        # Told True while pages reach the broker, False while publishing stalls.
        self._publishing = publishing
        self._stall_after = stall_after
        self._waiting_since: float | None = None  # a page taken, not confirmed yet
        self._refused: str | None = None  # the broker's last refusal since a success
        self._stalled_since: float | None = None
        self._watch: threading.Thread | None = None
        self.topic = layout.authored(code)
        self.checkpoint_topic = layout.checkpoints(code)
        # The node's checkpoint of its log up to a position, when it signs them.
        self.sign_at: Callable[[int], log_pb2.SignedCheckpoint | None] | None = None
        self._owed = 0  # a confirmed position whose checkpoint is not sent yet
        self._max_record = max_record_bytes
        self.not_published = Counter(
            "caseledger_events_not_published",
            "Events of the authored log over the topic's message limit, left out of it",
            ["topic", "case", "version"],
            registry=registry,
        )
        self.stalled = Gauge(
            "caseledger_publishing_stalled",
            "1 while the authored events cannot reach the broker (a page waited "
            "too long or the broker refused), 0 while they do",
            ["topic"],
            registry=registry,
        )
        self.unpublished = Gauge(
            "caseledger_unpublished_events",
            "Events of the authored log not yet confirmed on the broker",
            ["topic"],
            registry=registry,
        )
        self.waiting = Gauge(
            "caseledger_publish_waiting_seconds",
            "How long the oldest unconfirmed page has waited for the broker (0: none waits)",
            ["topic"],
            registry=registry,
        )
        self.reference_topic = layout.reference(code)
        self._log = log
        self._broker = broker
        self._topic_settings = topics
        self._producer_settings = producer
        self._factory = InfrastructureFactory.construct(
            Environment("published", dict(positions_env))
        )
        self._positions = self._factory.tracking_recorder()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def position(self) -> int:
        """The last position of the authored log confirmed on the broker."""
        return self._positions.max_tracking_id(self.topic) or 0

    def start(self) -> None:
        self._workers.started(PUBLISHER)
        self.stalled.labels(topic=self.topic).set(0)
        if self._publishing is not None:
            self._publishing(True)
        self._thread = threading.Thread(target=self._run, name=f"publish-{self.topic}", daemon=True)
        self._thread.start()
        self._watch = threading.Thread(
            target=self._watch_stall, name=f"publish-watch-{self.topic}", daemon=True
        )
        self._watch.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=15)
        if self._watch is not None:
            self._watch.join(timeout=5)
        self._factory.close()

    def is_stalled(self) -> bool:
        """Whether publishing counts as stalled now (see the module docstring)."""
        return self._stalled_since is not None

    def _watch_stall(self) -> None:
        """Every second: how far publishing is behind, and whether it stalled."""
        while not self._stopping.wait(_WATCH_SECONDS):
            try:
                head = self._log.max_notification_id() or 0
                self.unpublished.labels(topic=self.topic).set(max(head - self.position(), 0))
            except Exception as error:  # the store's trouble shows in its own health
                _log.debug("unpublished events unknown", topic=self.topic, error=str(error))
            waiting_since = self._waiting_since
            waited = 0.0 if waiting_since is None else time.monotonic() - waiting_since
            self.waiting.labels(topic=self.topic).set(waited)
            refused = self._refused
            if self._stalled_since is None and (refused or waited >= self._stall_after):
                self._stalled_since = time.monotonic()
                self.stalled.labels(topic=self.topic).set(1)
                _log.warning(
                    "publishing stalled: authored events wait in the node's log",
                    topic=self.topic,
                    waited_seconds=round(waited, 1),
                    reason=refused or "the broker has not confirmed a page",
                )
                if self._publishing is not None:
                    self._publishing(False)

    def _confirmed(self) -> None:
        """A page reached the broker: publishing is not stalled (any more)."""
        self._waiting_since = None
        self._refused = None
        stalled_since = self._stalled_since
        if stalled_since is None:
            return
        self._stalled_since = None
        self.stalled.labels(topic=self.topic).set(0)
        self.waiting.labels(topic=self.topic).set(0)
        _log.info(
            "publishing resumed",
            topic=self.topic,
            stalled_seconds=round(time.monotonic() - stalled_since, 1),
        )
        if self._publishing is not None:
            self._publishing(True)

    def _run(self) -> None:
        backoff = _BACKOFF_FIRST
        producer: TopicProducer | None = None
        tail: LogTail | None = None
        while not self._stopping.is_set():
            try:
                if producer is None:
                    producer = self._open()
                if tail is None:
                    # The log's subscription from the confirmed position: woken
                    # by each local commit, so an event is sent once it is durable.
                    tail = LogTail(self._log, self.position(), name=f"tail-{self.topic}")
                if self._publish_page(producer, tail) == 0:
                    self._send_checkpoint(producer, self._owed)
                    if self._owed:
                        # Not signed yet: ask again shortly, or as soon as the
                        # log grows (what came is published first).
                        tail.give_back(tail.take(_PAGE, timeout=_OWED_SECONDS))
                backoff = _BACKOFF_FIRST
                self._workers.succeeded(PUBLISHER)
            except Exception as error:
                if isinstance(error, BrokerError):
                    self._refused = str(error)
                    _log.warning("publishing failed; retrying", topic=self.topic, error=str(error))
                else:
                    # Not the broker's weather: a store or a bug. Shown in health.
                    self._workers.failed(PUBLISHER, error, topic=self.topic)
                # A fresh producer after a failure: its idempotence state is
                # reset, and the unconfirmed page is sent again from the log.
                if producer is not None:
                    producer.close()
                producer = None
                if tail is not None:
                    tail.stop()
                tail = None
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX)
        if producer is not None:
            producer.close()
        if tail is not None:
            tail.stop()

    def _open(self) -> TopicProducer:
        admin = TopicAdmin(self._broker)
        admin.open()
        try:
            admin.ensure(
                [self.topic, self.reference_topic, self.checkpoint_topic], self._topic_settings
            )
        finally:
            admin.close()
        producer = TopicProducer(self._broker, self._producer_settings)
        producer.open()
        return producer

    def _publish_page(self, producer: TopicProducer, tail: LogTail) -> int:
        # Caught up with a checkpoint owed: look once, and send it if nothing came.
        page = tail.take(_PAGE, timeout=0 if self._owed else _IDLE_SECONDS)
        if not page:
            if not self._owed:
                self._confirmed()  # caught up: nothing waits for the broker
            return 0
        if self._waiting_since is None:
            self._waiting_since = time.monotonic()
        head = self._log.max_notification_id() or page[-1].id
        records: list[tuple[str, bytes, bytes]] = []
        size = 0
        published = page[0].id - 1
        for index, notification in enumerate(page):
            key = str(notification.originator_id).encode()
            record = record_of(notification, head)
            value = record.SerializeToString()
            topics = [self.topic]
            if is_reference_data(record.topic):
                topics.append(self.reference_topic)
            weight = (len(key) + len(value) + _RECORD_OVERHEAD) * len(topics)
            if records and size + weight > self._max_record:
                tail.give_back(page[index:])  # the rest is the next page's
                break
            if len(key) + len(value) + _RECORD_OVERHEAD > self._max_record:
                self._not_published(notification, len(value))
            else:
                records.extend((topic, key, value) for topic in topics)
                size += weight
            published = notification.id
        # The ordering: send the page, flush until every in-sync replica
        # holds each record, send the checkpoint that covers it, and only
        # then record the position. A crash in between re-sends the page and
        # its checkpoint (at-least-once to the topics); consumers store each
        # event once (see the module docstring) and a witness takes a
        # checkpoint it has seen as known.
        if records:
            producer.send_all(records)
        self._send_checkpoint(producer, published)
        self._positions.insert_tracking(Tracking(self.topic, published))
        self._confirmed()
        return published - page[0].id + 1

    def _send_checkpoint(self, producer: TopicProducer, position: int) -> None:
        """Send the node's checkpoint of its log up to `position`; while it
        cannot be signed (no signer yet, or a Cassandra store's tree still
        behind its log), owe it and try again when idle."""
        if position == 0:
            return
        signed = self.sign_at(position) if self.sign_at is not None else None
        if signed is None:
            self._owed = position
            return
        value = signed.SerializeToString()
        producer.send_all([(self.checkpoint_topic, self.topic.encode(), value)])
        self._owed = 0

    def _not_published(self, notification: Notification, size: int) -> None:
        case, version = str(notification.originator_id), notification.originator_version
        self.not_published.labels(topic=self.topic, case=case, version=str(version)).inc()
        _log.error(
            "event over the message limit: not published",
            topic=self.topic,
            case=case,
            version=version,
            position=notification.id,
            bytes=size,
            limit=self._max_record,
        )


class KafkaFeed:
    """Consumes the subtree's authored topics and the ancestors' reference topics."""

    def __init__(
        self,
        code: str,
        intake: Intake,
        broker: BrokerSettings,
        layout: TopicLayout,
        *,
        consumer: ConsumerSettings | None = None,
        workers: Workers | None = None,
    ) -> None:
        self._workers = workers if workers is not None else Workers()
        self.pattern = layout.subscription(code)
        self._layout = layout
        self._intake = intake
        self._broker = broker
        self._consumer_settings = consumer
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._assigned: frozenset[Partition] = frozenset()
        self.broken: dict[str, Exception] = {}

    def assignment(self) -> frozenset[Partition]:
        """The partitions the consumer read at its last poll."""
        return self._assigned

    def start(self) -> None:
        self._workers.started(KAFKA_FEED)
        self._thread = threading.Thread(target=self._run, name="feed-kafka", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=15)

    def _start_of(self, partition: Partition) -> int:
        # Tracking holds offset + 1 of the last applied record: the next
        # offset to read.
        return self._intake.position(partition.key)

    def _run(self) -> None:
        backoff = _BACKOFF_FIRST
        while not self._stopping.is_set():
            consumer = TopicConsumer(self._broker, self._start_of, self._consumer_settings)
            try:
                consumer.open()
                consumer.subscribe(self.pattern)
                while not self._stopping.is_set():
                    for fetched in self._poll(consumer):
                        self._take(consumer, fetched)
                    self._assigned = frozenset(consumer.assignment())
                    backoff = _BACKOFF_FIRST
                    self._workers.succeeded(KAFKA_FEED)
            except Exception as error:
                # Whatever was polled but not stored is read again: a new
                # consumer starts every partition from the tracking records.
                if isinstance(error, BrokerError):
                    _log.warning("consuming stalled", pattern=self.pattern, error=str(error))
                else:
                    self._workers.failed(KAFKA_FEED, error, pattern=self.pattern)
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX)
            finally:
                consumer.close()

    def _poll(self, consumer: TopicConsumer) -> list[Fetched]:
        try:
            return consumer.poll(_POLL_MS)
        except PositionOutOfRange as error:
            for partition, offset in error.offsets.items():
                _log.error("tracked offset not on the broker", partition=partition.key, at=offset)
                self.broken[partition.key] = error
                consumer.pause(partition)
            return []

    def _take(self, consumer: TopicConsumer, fetched: Fetched) -> None:
        topic = fetched.partition.topic
        witness = self._intake.witness
        if self._layout.is_checkpoints(topic):
            self._take_checkpoints(fetched)
            return
        deliveries = [delivery_of(r) for r in fetched.records]
        if self._layout.is_reference(topic):
            deliveries = [d for d in deliveries if _is_catalogue_event(d.event.topic)]
        elif witness is not None:
            logs = [log_record_of(r) for r in fetched.records]
            witness.received(self._layout.code_of(topic), leaves_of(logs))
        if not deliveries:
            return
        head = max(fetched.highwater or 0, deliveries[-1].position)
        try:
            self._intake.take(fetched.partition.key, deliveries, head)
        except TrailBroken as error:
            # Only without a quarantine: history from this partition does not
            # verify, so stop reading it, loudly.
            self.broken[fetched.partition.key] = error
            consumer.pause(fetched.partition)

    def _take_checkpoints(self, fetched: Fetched) -> None:
        """Hand a checkpoint topic's records to the witness (a node that
        witnesses no one just steps over them)."""
        witness = self._intake.witness
        if witness is not None:
            node = self._layout.code_of(fetched.partition.topic)
            for record in fetched.records:
                try:
                    signed = log_pb2.SignedCheckpoint.FromString(record.value)
                except DecodeError:
                    _log.error("unreadable checkpoint record", partition=fetched.partition.key)
                    continue
                witness.checkpoint(node, signed.note, signed.certificate)
        if fetched.records:
            self._intake.advance(fetched.partition.key, fetched.records[-1].offset + 1)
