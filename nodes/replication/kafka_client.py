"""A thin typed wrapper over kafka-python: the only module that imports `kafka`.

Everything the replication adapter needs from a broker, and no more:
settings as frozen dataclasses, a producer that only reports success once
every in-sync replica has a record, a consumer that starts each partition
where the caller's own tracking says (never at an offset the broker keeps
for it), and topic creation. Constructors do no network I/O; `open()` does.
kafka-python errors are translated into `BrokerError` here and nowhere else,
so a faster client can replace this module without touching its callers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import kafka
import kafka.errors

# CreateTopics error code for a topic that is already there: not a failure
# for "make sure these topics exist".
_TOPIC_ALREADY_EXISTS = 36
# How long past its delivery timeout a flush may wait for the last answers.
_FLUSH_GRACE_S = 5.0
_FLUSH_STEP_S = 1.0


class BrokerError(Exception):
    """The broker could not be reached, or refused or lost a request."""


class DeliveryFailed(BrokerError):
    """Some produced records were not acknowledged by every in-sync replica."""


class PositionOutOfRange(BrokerError):
    """A partition does not hold the offset a consumer was told to start from:
    the broker lost records, or deleted them before they were read."""

    def __init__(self, offsets: dict[Partition, int]) -> None:
        self.offsets = offsets
        listed = ", ".join(f"{p.key}@{o}" for p, o in offsets.items())
        super().__init__(f"offsets out of range: {listed}")


@dataclass(frozen=True)
class BrokerSettings:
    """Where the broker is, and how patiently to talk to it."""

    bootstrap: tuple[str, ...]
    client_id: str = "caseledger"
    request_timeout_ms: int = 30_000
    # How long `open()` waits for a first answer from the bootstrap servers.
    bootstrap_timeout_ms: int = 30_000
    # Reconnect quickly after a broker restart (the library's default grows
    # to 30 s between attempts).
    reconnect_backoff_max_ms: int = 1_000

    def client_config(self) -> dict[str, Any]:
        return {
            "bootstrap_servers": list(self.bootstrap),
            "client_id": self.client_id,
            "request_timeout_ms": self.request_timeout_ms,
            "bootstrap_timeout_ms": self.bootstrap_timeout_ms,
            "reconnect_backoff_max_ms": self.reconnect_backoff_max_ms,
        }


@dataclass(frozen=True)
class ProducerSettings:
    """Idempotent, `acks=all`: a record is confirmed only when every in-sync
    replica has it, and a retried send never writes it twice."""

    # `send_all` flushes every batch the publisher hands it, and a flush sends
    # at once whatever the linger: a linger only delays the records of a
    # batch cut short. Measured at 500 records/s (docs/performance.md): 5 ms
    # bought no larger batches and no lower latency; 0 it is.
    linger_ms: int = 0
    # Room for much of a publisher's page (up to 1,000 events) in one request
    # per partition; the flush, not this size, ends a batch.
    batch_size: int = 512 * 1024
    compression: str | None = None
    # How long `send` may wait for topic metadata while the broker is away.
    max_block_ms: int = 10_000
    delivery_timeout_ms: int = 60_000


@dataclass(frozen=True)
class ConsumerSettings:
    """No group, no committed offsets: positions live in the caller's tracking."""

    # A pattern subscription sees a new topic only at the next metadata
    # refresh, and each refresh fetches the metadata of every topic of the
    # cluster: short enough to notice a node added to a running network,
    # long enough to stay cheap with thousands of topics (created up front).
    metadata_max_age_ms: int = 10_000
    # Catch-up is bound by kafka-python decoding records in Python (8-9k/s
    # here on a busy 2-core machine, whatever the batch: docs/performance.md),
    # not by these sizes: 500 records/1 MiB, 2,000/4 MiB and 10,000/16 MiB
    # read within noise of each other; the middle keeps memory per partition
    # modest for a province following 1,800 sources.
    max_poll_records: int = 2_000
    # The broker answers a fetch as soon as it has a byte (fetch.min.bytes 1),
    # so this wait costs no latency while records flow: 10, 100 and 500 ms gave
    # the same lag at 500 records/s. It bounds how long an idle consumer takes
    # to notice a stop or a new partition, so it stays short.
    fetch_max_wait_ms: int = 100
    max_partition_fetch_bytes: int = 4 * 1024 * 1024


@dataclass(frozen=True)
class TopicSettings:
    """How the adapter's topics are created; records are kept for ever (a
    replica that was down for a month must still find them)."""

    partitions: int = 3
    replication_factor: int = 1
    # How many replicas hold a record before `acks=all` confirms it; a
    # partition with fewer in sync refuses writes (NOT_ENOUGH_REPLICAS)
    # rather than confirm one copy. Three replicas and two: one broker may
    # die and nothing confirmed is lost, nothing stops.
    min_insync_replicas: int = 1
    configs: tuple[tuple[str, str], ...] = (("retention.ms", "-1"), ("retention.bytes", "-1"))

    def topic_configs(self) -> dict[str, str]:
        return {**dict(self.configs), "min.insync.replicas": str(self.min_insync_replicas)}


@dataclass(frozen=True, order=True)
class Partition:
    topic: str
    number: int

    @property
    def key(self) -> str:
        """The tracking name of this partition: `{topic}/{number}`."""
        return f"{self.topic}/{self.number}"


@dataclass(frozen=True)
class Record:
    partition: Partition
    offset: int
    key: bytes | None
    value: bytes


@dataclass(frozen=True)
class Fetched:
    """Records of one partition from one poll, and the partition's end offset
    as the broker last reported it (the offset the next record will get)."""

    partition: Partition
    records: list[Record]
    highwater: int | None = None


def _partition(tp: Any) -> Partition:
    return Partition(str(tp.topic), int(tp.partition))


def _tp(partition: Partition) -> Any:
    return kafka.TopicPartition(partition.topic, partition.number)


class TopicProducer:
    """Sends records and confirms them in one place: `send_all`."""

    def __init__(self, broker: BrokerSettings, settings: ProducerSettings | None = None) -> None:
        self._broker = broker
        self._settings = settings or ProducerSettings()
        self._client: Any = None

    def open(self) -> None:
        s = self._settings
        try:
            self._client = kafka.KafkaProducer(
                **self._broker.client_config(),
                acks="all",
                enable_idempotence=True,
                linger_ms=s.linger_ms,
                batch_size=s.batch_size,
                compression_type=s.compression,
                max_block_ms=s.max_block_ms,
                delivery_timeout_ms=s.delivery_timeout_ms,
            )
        except kafka.errors.KafkaError as error:
            raise BrokerError(f"cannot open a producer: {error}") from error

    def send_all(self, records: Iterable[tuple[str, bytes, bytes]]) -> int:
        """Send `(topic, key, value)` records, then flush and confirm each one.

        Returns only when every record is acknowledged by all in-sync
        replicas; raises DeliveryFailed if any is not. Records with the same
        key go to the same partition, in the order given.
        """
        # Bounded: a record not confirmed within its delivery timeout has
        # failed, and a producer still waiting past that is wedged (seen with
        # brokers killed mid-request); the caller then starts a fresh one. One
        # deadline for the whole page: kafka-python's flush timeout applies
        # to each batch in turn.
        bound = self._settings.delivery_timeout_ms / 1000 + _FLUSH_GRACE_S
        deadline = time.monotonic() + bound
        try:
            futures = [
                self._client.send(topic, key=key, value=value) for topic, key, value in records
            ]
            while True:
                try:
                    self._client.flush(timeout=min(_FLUSH_STEP_S, bound))
                    break
                except kafka.errors.KafkaTimeoutError as waiting:
                    if time.monotonic() >= deadline:
                        raise DeliveryFailed(
                            f"no answer from the brokers within {bound:.0f} s"
                        ) from waiting
        except kafka.errors.KafkaError as error:
            raise DeliveryFailed(f"send failed: {error}") from error
        failed = [f.exception for f in futures if not f.succeeded()]
        if failed:
            raise DeliveryFailed(f"{len(failed)} of {len(futures)} records failed: {failed[0]}")
        return len(futures)

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.close(timeout=5)
            except kafka.errors.KafkaTimeoutError:
                # Records still unanswered (a failed page, which a fresh
                # producer sends again). kafka-python's close gives up at its
                # flush and leaves the sender thread running: stop it here.
                self._client._sender.force_close()
            self._client = None


class TopicConsumer:
    """Reads partitions from the offsets `start_of` gives, never from the broker's.

    `start_of(partition)` is asked whenever a partition is newly assigned (at
    start, and when a pattern subscription picks up a new topic).
    """

    def __init__(
        self,
        broker: BrokerSettings,
        start_of: Callable[[Partition], int],
        settings: ConsumerSettings | None = None,
    ) -> None:
        self._broker = broker
        self._start_of = start_of
        self._settings = settings or ConsumerSettings()
        self._client: Any = None

    def open(self) -> None:
        s = self._settings
        try:
            self._client = kafka.KafkaConsumer(
                **self._broker.client_config(),
                # No group: nothing to coordinate, no offsets to commit.
                group_id=None,
                enable_auto_commit=False,
                # A partition without a position is an error we answer with a
                # seek to our tracked offset (see poll), never a silent reset.
                auto_offset_reset="none",
                metadata_max_age_ms=s.metadata_max_age_ms,
                max_poll_records=s.max_poll_records,
                fetch_max_wait_ms=s.fetch_max_wait_ms,
                max_partition_fetch_bytes=s.max_partition_fetch_bytes,
            )
        except kafka.errors.KafkaError as error:
            raise BrokerError(f"cannot open a consumer: {error}") from error

    def subscribe(self, pattern: str) -> None:
        """Follow every topic whose whole name matches `pattern` (a Python regex)."""
        self._client.subscribe(pattern=pattern)

    def assign(self, partitions: Sequence[Partition]) -> None:
        """Read exactly these partitions, each from `start_of`."""
        self._client.assign([_tp(p) for p in partitions])
        for partition in partitions:
            self._client.seek(_tp(partition), self._start_of(partition))

    def poll(self, timeout_ms: int) -> list[Fetched]:
        try:
            batches = self._client.poll(timeout_ms=timeout_ms)
        except kafka.errors.NoOffsetForPartitionError as error:
            # Newly assigned partitions: start each where our tracking says.
            for tp in error.args[0]:
                self._client.seek(tp, self._start_of(_partition(tp)))
            return []
        except kafka.errors.OffsetOutOfRangeError as error:
            offsets = {_partition(tp): int(offset) for tp, offset in error.args[0].items()}
            raise PositionOutOfRange(offsets) from error
        except kafka.errors.KafkaError as error:
            raise BrokerError(f"poll failed: {error}") from error
        fetched = []
        for tp, records in batches.items():
            partition = _partition(tp)
            fetched.append(
                Fetched(
                    partition,
                    [Record(partition, r.offset, r.key, r.value) for r in records],
                    self._client.highwater(tp),
                )
            )
        return fetched

    def pause(self, partition: Partition) -> None:
        self._client.pause(_tp(partition))

    def assignment(self) -> set[Partition]:
        return {_partition(tp) for tp in self._client.assignment()}

    def end_offsets(self, partitions: Sequence[Partition]) -> dict[Partition, int]:
        """The offset the next record of each partition will get (asks the broker)."""
        try:
            ends = self._client.end_offsets([_tp(p) for p in partitions])
        except kafka.errors.KafkaError as error:
            raise BrokerError(f"cannot read end offsets: {error}") from error
        return {_partition(tp): int(offset) for tp, offset in ends.items()}

    def partitions_of(self, topic: str) -> list[Partition]:
        numbers = self._client.partitions_for_topic(topic) or set()
        return [Partition(topic, n) for n in sorted(numbers)]

    def close(self) -> None:
        if self._client is not None:
            self._client.close(autocommit=False)
            self._client = None


class TopicAdmin:
    """Creates topics; `ensure` is idempotent."""

    def __init__(self, broker: BrokerSettings) -> None:
        self._broker = broker
        self._client: Any = None

    def open(self) -> None:
        try:
            self._client = kafka.KafkaAdminClient(**self._broker.client_config())
        except kafka.errors.KafkaError as error:
            raise BrokerError(
                f"cannot reach the broker at {self._broker.bootstrap}: {error}"
            ) from (error)

    def ensure(self, topics: Iterable[str], settings: TopicSettings | None = None) -> None:
        """Create the topics that do not exist yet; leave the others alone."""
        s = settings or TopicSettings()
        wanted = {
            topic: {
                "num_partitions": s.partitions,
                "replication_factor": s.replication_factor,
                "configs": s.topic_configs(),
            }
            for topic in topics
        }
        if not wanted:
            return
        try:
            response = self._client.create_topics(wanted, raise_errors=False)
        except kafka.errors.KafkaError as error:
            raise BrokerError(f"cannot create topics: {error}") from error
        refused = [
            f"{t['name']}: {t.get('error_message') or t['error_code']}"
            for t in response["topics"]
            if t["error_code"] not in (0, _TOPIC_ALREADY_EXISTS)
        ]
        if refused:
            raise BrokerError(f"topics refused: {'; '.join(refused)}")

    def topics(self) -> set[str]:
        try:
            return set(self._client.list_topics())
        except kafka.errors.KafkaError as error:
            raise BrokerError(f"cannot list topics: {error}") from error

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
