"""Harnesses that run a source node and a receiving node over one feed adapter.

The conformance suite is written against `FeedHarness`; each adapter supplies
one. The nodes are real (gRPC servers on port 0, their stores SQLite files on
disk or, with `store_kind="cassandra"`, the real Cassandra node); the Kafka
harness talks to the real broker named by `CASELEDGER_KAFKA`.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from uuid import UUID

import grpc
import pytest

from caseledger.ledger.cassandra.streams import TrackingTable
from caseledger.ledger.trail.canonical import GENESIS, digest
from caseledger.ledger.trail.received import Delivery
from caseledger.nodes.config import NodeConfig
from caseledger.nodes.replication.grpc_feed import Source
from caseledger.nodes.replication.kafka_client import (
    BrokerError,
    BrokerSettings,
    Partition,
    Record,
    TopicAdmin,
    TopicConsumer,
    TopicProducer,
    TopicSettings,
)
from caseledger.nodes.replication.kafka_feed import (
    KafkaFeed,
    KafkaPublisher,
    TopicLayout,
    create_network_topics,
)
from caseledger.nodes.replication.kafka_feed import delivery_of as delivery_of_record
from caseledger.nodes.service.server import RunningNode, start
from caseledger.nodes.trust.transport import Transport
from caseledger.v1 import ledger_pb2, ledger_pb2_grpc, log_pb2, log_pb2_grpc
from tests import cassandra_fixtures
from tests.nodes import requests as rq
from tests.nodes.stores import fresh_nodes, node_config
from tests.pki import client_channel

TOWNSHIP = "370102001000"  # 解放路街道, the source
COUNTY = "370102000000"  # 历下区, the receiver
CITY = "370100000000"  # 济南市, above both
KAFKA_ENV = "CASELEDGER_KAFKA"


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Poll until `condition` holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class FeedHarness(Protocol):
    source: RunningNode
    receiver: RunningNode

    def source_keys(self) -> list[str]:
        """The tracking names under which the receiver records the source's positions."""
        ...

    def caught_up(self) -> bool:
        """Whether every append acknowledged by the source is stored at the receiver."""
        ...

    def delivered(self) -> dict[str, list[Delivery]]:
        """What the transport carries from the source, read again from its
        start, by tracking name (to deliver it a second time)."""
        ...

    def start_source(self) -> None: ...

    def stop_source(self) -> None: ...

    def start_receiver(self) -> None: ...

    def stop_receiver(self) -> None: ...

    def close(self) -> None: ...


def source_head(node: RunningNode) -> int:
    return node.ledger.recorder.max_notification_id() or 0


@dataclass
class GrpcHarness:
    """The receiver pulls the source's log stream."""

    folder: Path
    store_kind: str = "sqlite"
    source: RunningNode = field(init=False)
    receiver: RunningNode = field(init=False)
    _source_port: int = 0

    def __post_init__(self) -> None:
        fresh_nodes(self.store_kind, TOWNSHIP, COUNTY)
        self.start_source()
        self.start_receiver()

    def source_keys(self) -> list[str]:
        return [TOWNSHIP]

    def caught_up(self) -> bool:
        return self.receiver.intake.position(TOWNSHIP) >= source_head(self.source)

    def delivered(self) -> dict[str, list[Delivery]]:
        log = self.source.ledger.recorder.select_notifications(start=1, limit=1_000_000)
        return {TOWNSHIP: [Delivery(n.id, n) for n in log]}

    def source_config(self) -> NodeConfig:
        listen = f"127.0.0.1:{self._source_port}"
        folder = self.folder / "township"
        return node_config(TOWNSHIP, folder, self.store_kind, listen=listen, allow_client_time=True)

    def start_source(self) -> None:
        self.source = start(self.source_config())
        self._source_port = self.source.port

    def stop_source(self) -> None:
        self.source.stop(grace=0)

    def start_receiver(self, via: str | None = None) -> None:
        """Start the receiver, pulling the source's log stream at its address
        or, given `via`, through whatever listens there."""
        folder = self.folder / "county"
        config = node_config(COUNTY, folder, self.store_kind, allow_client_time=True)
        self.receiver = start(config, [Source(TOWNSHIP, via or self.source.address)])

    def stop_receiver(self) -> None:
        self.receiver.stop(grace=0)

    def close(self) -> None:
        self.stop_receiver()
        self.stop_source()


@functools.cache
def _answering(address: str) -> str | None:
    """None if a broker answers at `address`, else why not."""
    admin = TopicAdmin(
        BrokerSettings((address,), request_timeout_ms=5_000, bootstrap_timeout_ms=5_000)
    )
    try:
        admin.open()
        admin.topics()
    except BrokerError as error:
        return str(error)
    finally:
        admin.close()
    return None


def kafka_address(environ: dict[str, str] | None = None) -> str:
    """The broker the Kafka tests use; fails the test (never skips) without one."""
    address = (os.environ if environ is None else environ).get(KAFKA_ENV, "").strip()
    if not address:
        pytest.fail(
            f"{KAFKA_ENV} is not set: start a broker with `python docker/services.py start kafka`"
            f" and export {KAFKA_ENV}=127.0.0.1:9092 (tests/run does both)",
            pytrace=False,
        )
    problem = _answering(address)
    if problem is not None:
        pytest.fail(f"no Kafka broker answers at {KAFKA_ENV}={address}: {problem}", pytrace=False)
    return address


def kafka_node(
    code: str, folder: Path, address: str, prefix: str, store_kind: str = "sqlite"
) -> NodeConfig:
    return node_config(
        code,
        folder,
        store_kind,
        allow_client_time=True,
        feed="kafka",
        kafka_bootstrap=(address,),
        kafka_topic_prefix=prefix,
    )


@dataclass
class KafkaTopicReader:
    """Reads a topic's partitions from the broker, outside any node."""

    address: str
    topic: str
    partitions: int = TopicSettings().partitions
    _ends: TopicConsumer | None = None

    def all(self) -> list[Partition]:
        return [Partition(self.topic, n) for n in range(self.partitions)]

    def end_offsets(self) -> dict[Partition, int]:
        if self._ends is None:
            self._ends = TopicConsumer(BrokerSettings((self.address,)), lambda p: 0)
            self._ends.open()
        return self._ends.end_offsets(self.all())

    def records(self) -> dict[str, list[Record]]:
        """Every record of the topic, by tracking name."""
        ends = self.end_offsets()
        found: dict[str, list[Record]] = {p.key: [] for p in ends}
        consumer = TopicConsumer(BrokerSettings((self.address,)), lambda p: 0)
        consumer.open()
        try:
            consumer.assign(self.all())

            def complete() -> bool:
                for fetched in consumer.poll(100):
                    found[fetched.partition.key] += fetched.records
                return all(len(found[p.key]) >= end for p, end in ends.items())

            wait_for(complete, f"reading {self.topic} back")
        finally:
            consumer.close()
        return found

    def deliveries(self) -> dict[str, list[Delivery]]:
        """Every record of the topic, as the port's deliveries, by tracking name."""
        return {
            key: [delivery_of_record(r) for r in records] for key, records in self.records().items()
        }

    def close(self) -> None:
        if self._ends is not None:
            self._ends.close()


@dataclass
class KafkaHarness:
    """The source publishes to the real broker; the receiver consumes its subtree."""

    folder: Path
    address: str
    store_kind: str = "sqlite"
    layout: TopicLayout = field(default_factory=lambda: TopicLayout(f"t{uuid.uuid4().hex[:12]}"))
    # As a network start does: every node's topics exist before any node
    # runs. Without it the receiver starts first and must notice the
    # source's topic when the source's publisher creates it.
    topics_up_front: bool = True
    source: RunningNode = field(init=False)
    receiver: RunningNode = field(init=False)

    def __post_init__(self) -> None:
        fresh_nodes(self.store_kind, TOWNSHIP, COUNTY)
        self.reader = KafkaTopicReader(self.address, self.layout.authored(TOWNSHIP))
        if self.topics_up_front:
            create_network_topics(BrokerSettings((self.address,)), self.layout, [TOWNSHIP, COUNTY])
            self.start_source()
            self.start_receiver()
        else:
            # Only an ancestor's reference topic exists when the receiver
            # starts; once it reads that, the source's topic is created.
            early = self.layout.reference(CITY)
            create_network_topics(BrokerSettings((self.address,)), self.layout, [CITY])
            self.start_receiver()
            feed = self.receiver.feed
            assert isinstance(feed, KafkaFeed)
            wait_for(
                lambda: any(p.topic == early for p in feed.assignment()),
                "the receiver to read the topics that exist",
            )
            self.start_source()

    @property
    def publisher(self) -> KafkaPublisher:
        assert self.source.publisher is not None
        return self.source.publisher

    def source_keys(self) -> list[str]:
        return [p.key for p in self.reader.all()]

    def caught_up(self) -> bool:
        if self.publisher.position() < source_head(self.source):
            return False
        ends = self.reader.end_offsets()
        return all(self.receiver.intake.position(p.key) >= end for p, end in ends.items())

    def delivered(self) -> dict[str, list[Delivery]]:
        return self.reader.deliveries()

    def send_again(self) -> int:
        """Produce every record of the source's topic once more, with its key,
        as a publisher that lost its recorded position does: each lands in its
        partition again, at a new offset. Returns how many were sent."""
        records = [r for found in self.reader.records().values() for r in found]
        producer = TopicProducer(BrokerSettings((self.address,)))
        producer.open()
        try:
            return producer.send_all((r.partition.topic, r.key or b"", r.value) for r in records)
        finally:
            producer.close()

    def source_config(self) -> NodeConfig:
        folder = self.folder / "township"
        prefix = self.layout.prefix
        return kafka_node(TOWNSHIP, folder, self.address, prefix, self.store_kind)

    def start_source(self) -> None:
        self.source = start(self.source_config())

    def stop_source(self) -> None:
        self.source.stop(grace=0)

    def start_receiver(self) -> None:
        folder = self.folder / "county"
        prefix = self.layout.prefix
        self.receiver = start(kafka_node(COUNTY, folder, self.address, prefix, self.store_kind))

    def stop_receiver(self) -> None:
        self.receiver.stop(grace=0)

    def close(self) -> None:
        self.stop_receiver()
        self.stop_source()
        self.reader.close()


def ledger_stub(node: RunningNode) -> tuple[grpc.Channel, ledger_pb2_grpc.LedgerServiceStub]:
    channel = client_channel(node.address)
    return channel, ledger_pb2_grpc.LedgerServiceStub(channel)


class EarlyResumingLog(log_pb2_grpc.LogServiceServicer):
    """A LogService in front of a source that resumes every stream earlier than
    asked (`after` halved), as a source that lost track of its replicas, or a
    relay that restarted from an older position, would."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.asked: list[int] = []

    def StreamLog(  # noqa: N802
        self, request: log_pb2.StreamLogRequest, context: grpc.ServicerContext
    ) -> Iterator[log_pb2.LogBatch]:
        self.asked.append(request.after)
        earlier = log_pb2.StreamLogRequest()
        earlier.CopyFrom(request)
        earlier.after = request.after // 2
        with client_channel(self.upstream) as channel:
            call = log_pb2_grpc.LogServiceStub(channel).StreamLog(earlier)
            context.add_callback(call.cancel)
            try:
                yield from call
            except grpc.RpcError as error:
                if context.is_active():
                    context.abort(error.code(), str(error.details()))


@dataclass
class Relay:
    """A gRPC server on port 0 that serves `log` only."""

    log: EarlyResumingLog
    transport: Transport
    """What the node the relay stands in for presents."""
    server: grpc.Server = field(init=False)
    address: str = field(init=False)

    def __post_init__(self) -> None:
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        log_pb2_grpc.add_LogServiceServicer_to_server(self.log, self.server)
        port = self.transport.bind(self.server, "127.0.0.1:0")
        self.server.start()
        self.address = f"127.0.0.1:{port}"

    def stop(self) -> None:
        self.server.stop(0).wait()


# -- what the suites drive and check ---------------------------------------------


def drive_cases(node: RunningNode, count: int, publish: bool = True) -> list[str]:
    """Acknowledged appends at `node`: `count` cases, each submitted and accepted."""
    channel, stub = ledger_stub(node)
    with channel:
        if publish:
            stub.PublishItem(
                ledger_pb2.PublishItemRequest(terms=rq.item_terms(), meta=rq.publisher())
            )
        numbers = []
        for _ in range(count):
            number = stub.Submit(rq.submit()).result.case_number
            stub.Accept(ledger_pb2.AcceptRequest(meta=rq.meta(), case=number, notice_no="受1号"))
            numbers.append(number)
    return numbers


def received_rows(node: RunningNode) -> int:
    """How many events `node` holds in its received store."""
    recorder = node.ledger.received
    assert recorder is not None
    return len(recorder.recorder.select_notifications(start=1, limit=1_000_000))


def positions(harness: FeedHarness) -> dict[str, int]:
    return {key: harness.receiver.intake.position(key) for key in harness.source_keys()}


def counted(harness: FeedHarness) -> float:
    """Events the receiver counted as received and stored since it started."""
    registry = harness.receiver.metrics.registry
    found = (
        registry.get_sample_value("caseledger_events_received_total", {"source": key})
        for key in harness.source_keys()
    )
    return sum(value for value in found if value is not None)


def assert_arrived_in_order(node: RunningNode) -> None:
    """Each aggregate's events were stored at `node` in version order, with no gaps."""
    received = node.ledger.received
    assert received is not None
    last: dict[UUID | str, int] = {}
    for stored in received.recorder.select_notifications(start=1, limit=1_000_000):
        case = stored.originator_id
        assert stored.originator_version == last.get(case, 0) + 1, f"out of order: {case}"
        last[case] = stored.originator_version


def assert_trail_whole(node: RunningNode, number: str, versions: int) -> None:
    trail = node.ledger.trail(number)
    assert [e.originator_version for e in trail] == list(range(1, versions + 1))
    previous = GENESIS
    for event in trail:
        assert event.prev_hash == previous
        assert digest(event.hashed_form()) == event.hash
        previous = event.hash


def rewind_tracking(node: NodeConfig, source: str, to: int) -> None:
    """Set the position a stopped node recorded for `source` back to `to`,
    leaving the events it received in place: its feed then resumes early and
    is handed again, above the recorded position, events the node holds."""
    if node.store == "cassandra":
        env = node.persistence_env(node.received_db)
        tracking = TrackingTable(cassandra_fixtures.session(), cassandra_fixtures.settings(env))
        assert tracking.position(source) is not None, f"{node.code} tracks no {source}"
        cassandra_fixtures.session().write(*tracking.write(source, to))
        assert tracking.position(source) == to
        return
    with contextlib.closing(sqlite3.connect(node.received_db)) as db:
        with db:
            db.execute(
                "UPDATE tracking SET notification_id = ? WHERE application_name = ?", (to, source)
            )
        (recorded,) = db.execute(
            "SELECT notification_id FROM tracking WHERE application_name = ?", (source,)
        ).fetchone()
    assert recorded == to, f"{node.code} tracks {source} at {recorded}"


def next_with_records(stream: Iterator[log_pb2.LogBatch]) -> log_pb2.LogBatch:
    """The stream's next batch that carries records (past its caught-up marker)."""
    for batch in stream:
        if batch.records:
            return batch
    raise AssertionError("the stream ended")
