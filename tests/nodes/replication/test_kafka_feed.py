"""The Kafka adapter beyond the conformance suite: which topics a node reads,
what flows down, a re-sent page, a topic that appears later, the lag's head,
and a broker restart in the middle of replication.

The first tests need no broker; the others use the real broker named by
CASELEDGER_KAFKA (and fail without one), except the restart, which starts
and stops a broker of its own, on its own ports and folder, with
docker/services.py.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import Application
from prometheus_client import CollectorRegistry

from caseledger.ledger.catalogue import REFERENCE_DATA_TOPICS
from caseledger.ledger.trail.canonical import GENESIS, digest
from caseledger.ledger.trail.received import Delivery, KnownHashes, ReceivedEvents
from caseledger.nodes.replication.kafka_client import (
    BrokerSettings,
    ConsumerSettings,
    Partition,
    Record,
    TopicAdmin,
    TopicConsumer,
)
from caseledger.nodes.replication.kafka_feed import (
    KafkaFeed,
    TopicLayout,
    delivery_of,
)
from caseledger.nodes.replication.port import FeedMetrics, Intake
from caseledger.nodes.service.server import RunningNode, start
from caseledger.v1 import ledger_pb2, log_pb2
from tests.nodes import requests as rq
from tests.nodes.replication.brokers import OwnBroker
from tests.nodes.replication.feeds import (
    COUNTY,
    TOWNSHIP,
    KafkaHarness,
    KafkaTopicReader,
    kafka_address,
    kafka_node,
    ledger_stub,
    source_head,
    wait_for,
)

PROVINCE = "370000000000"  # 山东省
CITY = "370100000000"  # 济南市
OTHER_TOWNSHIP = "370102002000"
OTHER_COUNTY = "370103000000"
LAYOUT = TopicLayout("cl")


@pytest.mark.parametrize(
    ("reader", "topic"),
    [
        (PROVINCE, f"cl.{TOWNSHIP}"),
        (PROVINCE, f"cl.{COUNTY}"),
        (PROVINCE, f"cl.{CITY}"),
        (COUNTY, f"cl.{TOWNSHIP}"),
        (COUNTY, f"cl.{OTHER_TOWNSHIP}"),
        (TOWNSHIP, f"cl.{COUNTY}.reference"),
        (TOWNSHIP, f"cl.{CITY}.reference"),
        (TOWNSHIP, f"cl.{PROVINCE}.reference"),
        (PROVINCE, f"cl.{TOWNSHIP}.checkpoints"),  # to witness its subtree
        (COUNTY, f"cl.{TOWNSHIP}.checkpoints"),
    ],
)
def test_a_node_reads_its_subtree_and_its_ancestors_reference_data(reader: str, topic: str) -> None:
    assert re.match(LAYOUT.subscription(reader), topic)


@pytest.mark.parametrize(
    ("reader", "topic"),
    [
        (PROVINCE, f"cl.{PROVINCE}"),  # its own topic
        (COUNTY, f"cl.{COUNTY}"),
        (COUNTY, f"cl.{OTHER_COUNTY}"),  # a sibling
        (COUNTY, f"cl.{TOWNSHIP}0"),
        (TOWNSHIP, f"cl.{COUNTY}"),  # an ancestor's cases
        (TOWNSHIP, f"cl.{OTHER_TOWNSHIP}.reference"),  # not an ancestor
        (COUNTY, f"cl.{TOWNSHIP}.reference"),  # reference data flows down only
        (PROVINCE, f"other.{TOWNSHIP}"),  # another network
        (PROVINCE, f"clx{TOWNSHIP}"),
        (COUNTY, f"cl.{COUNTY}.checkpoints"),  # its own checkpoints
        (TOWNSHIP, f"cl.{COUNTY}.checkpoints"),  # an ancestor's
        (COUNTY, f"cl.{OTHER_COUNTY}.checkpoints"),
    ],
)
def test_a_node_reads_nothing_else(reader: str, topic: str) -> None:
    assert not re.match(LAYOUT.subscription(reader), topic)


def test_a_consumed_record_is_delivered_at_its_offset_plus_one() -> None:
    case = uuid4()
    value = log_pb2.LogRecord(
        position=7, originator_id=str(case), originator_version=2, topic="t:E", state=b"{}", head=9
    ).SerializeToString()
    delivery = delivery_of(Record(Partition("cl.x", 1), 41, str(case).encode(), value))
    assert delivery.position == 42
    assert (delivery.event.originator_id, delivery.event.originator_version) == (case, 2)
    assert (delivery.event.topic, delivery.event.state) == ("t:E", b"{}")


def test_without_a_broker_address_the_kafka_tests_fail() -> None:
    with pytest.raises(pytest.fail.Exception, match="CASELEDGER_KAFKA is not set"):
        kafka_address({})


# -- against the shared broker --------------------------------------------------


def append_cases(node: RunningNode, count: int, publish: bool = True) -> list[str]:
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


def received_log(node: RunningNode) -> list[tuple[UUID | str, int, str]]:
    received = node.ledger.received
    assert received is not None
    return [
        (n.originator_id, n.originator_version, n.topic)
        for n in received.recorder.select_notifications(start=1, limit=1_000_000)
    ]


def assert_replicated_exactly(harness: KafkaHarness, numbers: list[str]) -> None:
    """Every source event stored once, each aggregate's events in order, trails whole."""
    log = received_log(harness.receiver)
    assert len(log) == source_head(harness.source)
    last: dict[UUID | str, int] = {}
    for aggregate, version, _ in log:
        assert version == last.get(aggregate, 0) + 1, f"{aggregate} out of order"
        last[aggregate] = version
    for number in numbers:
        trail = harness.receiver.ledger.trail(number)
        assert [e.originator_version for e in trail] == [1, 2]
        previous = GENESIS
        for event in trail:
            assert event.prev_hash == previous
            assert digest(event.hashed_form()) == event.hash
            previous = event.hash


@pytest.fixture
def shared_broker() -> str:
    return kafka_address()


@pytest.mark.kafka
def test_catalogue_events_flow_down_and_case_events_do_not(
    shared_broker: str, tmp_path: Path
) -> None:
    layout = TopicLayout(f"t{uuid4().hex[:12]}")
    county = start(kafka_node(COUNTY, tmp_path / "county", shared_broker, layout.prefix))
    township = start(kafka_node(TOWNSHIP, tmp_path / "township", shared_broker, layout.prefix))
    try:
        append_cases(county, 2)  # the county publishes an item and handles cases of its own
        revised = rq.item_terms()
        revised.promised_days = 8
        channel, stub = ledger_stub(county)
        with channel:
            stub.PublishItem(ledger_pb2.PublishItemRequest(terms=revised, meta=rq.publisher()))
        authored = county.ledger.recorder.select_notifications(start=1, limit=1000)
        catalogue = [
            (n.originator_id, n.originator_version)
            for n in authored
            if n.topic in REFERENCE_DATA_TOPICS
        ]
        reference = KafkaTopicReader(shared_broker, layout.reference(COUNTY))

        def all_arrived() -> bool:
            ends = reference.end_offsets()
            return sum(ends.values()) == len(catalogue) and all(
                township.intake.position(p.key) >= end for p, end in ends.items()
            )

        try:
            wait_for(all_arrived, "the county's catalogue to reach the township")
        finally:
            reference.close()
        received = received_log(township)
        assert sorted((a, v) for a, v, _ in received) == sorted(catalogue)
        assert all(topic in REFERENCE_DATA_TOPICS for _, _, topic in received)
    finally:
        township.stop(grace=0)
        county.stop(grace=0)


@pytest.mark.kafka
def test_events_sent_again_after_a_publisher_crash_are_stored_once(
    shared_broker: str, tmp_path: Path
) -> None:
    harness = KafkaHarness(tmp_path, shared_broker)
    try:
        numbers = append_cases(harness.source, 3)
        wait_for(harness.caught_up, "the receiver to catch up")
        harness.stop_source()
        # The positions the publisher recorded are gone, as if it had crashed
        # after every flush and before recording: it sends its log again.
        for path in (tmp_path / "township").glob(f"{TOWNSHIP}.published.sqlite*"):
            path.unlink()
        harness.start_source()
        numbers += append_cases(harness.source, 2, publish=False)
        wait_for(harness.caught_up, "the receiver to take the re-sent log")
        sent = sum(harness.reader.end_offsets().values())
        assert sent > source_head(harness.source)  # the topic does hold duplicates
        assert_replicated_exactly(harness, numbers)
    finally:
        harness.close()


@pytest.mark.kafka
def test_a_pattern_subscription_picks_up_a_topic_created_later(shared_broker: str) -> None:
    broker = BrokerSettings((shared_broker,))
    prefix = f"t{uuid4().hex[:12]}"
    admin = TopicAdmin(broker)
    admin.open()
    consumer = TopicConsumer(broker, lambda p: 0, ConsumerSettings(metadata_max_age_ms=300))
    consumer.open()
    try:
        admin.ensure([f"{prefix}.a"])
        consumer.subscribe(rf"^{re.escape(prefix)}\.\w+$")

        def reads(topic: str) -> bool:
            consumer.poll(50)
            return any(p.topic == topic for p in consumer.assignment())

        wait_for(lambda: reads(f"{prefix}.a"), "the existing topic to be read")
        # Let the refreshes that follow an assignment die down, so that only
        # the periodic refresh can reveal the next topic.
        settled = time.monotonic() + 2
        while time.monotonic() < settled:
            consumer.poll(50)
        admin.ensure([f"{prefix}.b"])
        wait_for(lambda: reads(f"{prefix}.b"), "the new topic to be read")
    finally:
        consumer.close()
        admin.close()


@pytest.mark.kafka
def test_a_topic_created_after_the_receiver_started_is_followed(
    shared_broker: str, tmp_path: Path
) -> None:
    harness = KafkaHarness(tmp_path, shared_broker, topics_up_front=False)
    try:
        numbers = append_cases(harness.source, 3)
        wait_for(harness.caught_up, "the receiver to find the new topic and catch up")
        assert_replicated_exactly(harness, numbers)
    finally:
        harness.close()


class RecordingIntake(Intake):
    """An intake that remembers, per batch, its tracking name, last position and head."""

    def __init__(self, received: ReceivedEvents) -> None:
        stores: list[Application[UUID]] = [received]
        super().__init__(received, KnownHashes(stores), FeedMetrics(CollectorRegistry()))
        self.takes: list[tuple[str, int, int]] = []

    def take(self, source: str, deliveries: Sequence[Delivery], head: int) -> int:
        self.takes.append((source, deliveries[-1].position, head))
        return super().take(source, deliveries, head)


@pytest.mark.kafka
def test_the_lag_head_is_the_partition_end_not_the_batch_end(
    shared_broker: str, tmp_path: Path
) -> None:
    harness = KafkaHarness(tmp_path, shared_broker)
    harness.stop_receiver()
    intake = RecordingIntake(ReceivedEvents(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}))
    feed = KafkaFeed(
        COUNTY,
        intake,
        BrokerSettings((shared_broker,)),
        harness.layout,
        consumer=ConsumerSettings(max_poll_records=5),
    )
    try:
        append_cases(harness.source, 10)
        wait_for(lambda: harness.publisher.position() >= source_head(harness.source), "publishing")
        ends = {p.key: end for p, end in harness.reader.end_offsets().items()}
        feed.start()
        wait_for(
            lambda: all(intake.position(key) >= end for key, end in ends.items()),
            "the feed to read every partition",
        )
    finally:
        feed.stop()
        harness.stop_source()
        harness.reader.close()
    first: dict[str, tuple[int, int]] = {}
    for key, position, head in intake.takes:
        first.setdefault(key, (position, head))
    for key, (position, head) in first.items():
        assert head == ends[key]
        if ends[key] > 5:
            assert position < head  # a batch of five, more records behind it
    assert any(ends[key] > 5 for key in first)


# -- a broker restart in the middle of replication -------------------------------


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[OwnBroker]:
    broker = OwnBroker(tmp_path / "kafka-run")
    broker.start()
    yield broker
    broker.stop()


class Appender(threading.Thread):
    """Keeps appending cases at a node until told to stop."""

    def __init__(self, node: RunningNode) -> None:
        super().__init__(daemon=True)
        self.node = node
        self.numbers: list[str] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        self.numbers += append_cases(self.node, 1)
        while not self.stopping.is_set():
            self.numbers += append_cases(self.node, 1, publish=False)

    def finish(self) -> list[str]:
        self.stopping.set()
        self.join(timeout=30)
        return self.numbers


@pytest.mark.kafka
def test_a_broker_restart_mid_replication_loses_and_repeats_nothing(
    own_broker: OwnBroker, tmp_path: Path
) -> None:
    harness = KafkaHarness(tmp_path, own_broker.address)
    appender = Appender(harness.source)
    try:
        appender.start()
        wait_for(
            lambda: sum(map(harness.receiver.intake.position, harness.source_keys())) >= 20,
            "replication to be under way",
        )
        own_broker.stop()
        down = len(appender.numbers)
        # The source's appends do not depend on the broker.
        wait_for(lambda: len(appender.numbers) >= down + 20, "appends while the broker is down")
        own_broker.start()
        up = len(appender.numbers)
        wait_for(lambda: len(appender.numbers) >= up + 20, "appends after the broker is back")
        numbers = appender.finish()
        wait_for(harness.caught_up, "the receiver to catch up after the restart", timeout=120)
        assert_replicated_exactly(harness, numbers)
    finally:
        appender.finish()
        harness.close()
