"""What every replication adapter must guarantee, run against each adapter.

Nothing acknowledged is lost, nothing is applied twice (what the transport
delivered is delivered again), per-case order is kept (in what is stored and
in the order it arrived), a receiver restarted mid-stream catches up exactly,
a source restarted mid-stream is resumed, and lag is exported. The Kafka
adapter runs against the real broker named by CASELEDGER_KAFKA; without one
its tests fail. Each adapter runs with both nodes on SQLite and with both on
Cassandra (`store_kind`; the province, which receives every case of the
province, is the node that outgrows a disk).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest
from prometheus_client import CollectorRegistry

from caseledger.ledger.trail.canonical import GENESIS, digest
from caseledger.v1 import ledger_pb2
from tests.nodes import requests as rq
from tests.nodes.replication import feeds
from tests.nodes.replication.feeds import (
    FeedHarness,
    GrpcHarness,
    KafkaHarness,
    ledger_stub,
    wait_for,
)


@pytest.fixture(params=["grpc", pytest.param("kafka", marks=pytest.mark.kafka)])
def harness(
    request: pytest.FixtureRequest, tmp_path: Path, store_kind: str
) -> Iterator[FeedHarness]:
    built: FeedHarness
    if request.param == "kafka":
        built = KafkaHarness(tmp_path, feeds.kafka_address(), store_kind)
    else:
        built = GrpcHarness(tmp_path, store_kind)
    yield built
    built.close()


def source_head(harness: FeedHarness) -> int:
    return feeds.source_head(harness.source)


def caught_up(harness: FeedHarness) -> bool:
    return harness.caught_up()


def drive_cases(harness: FeedHarness, count: int, publish: bool = True) -> list[str]:
    """Acknowledged appends at the source: `count` cases, each submitted and accepted."""
    channel, stub = ledger_stub(harness.source)
    with channel:
        if publish:
            stub.PublishItem(ledger_pb2.PublishItemRequest(terms=rq.item_terms()))
        numbers = []
        for _ in range(count):
            number = stub.Submit(rq.submit()).result.case_number
            stub.Accept(ledger_pb2.AcceptRequest(meta=rq.meta(), case=number, notice_no="受1号"))
            numbers.append(number)
    return numbers


def received_rows(harness: FeedHarness) -> int:
    recorder = harness.receiver.ledger.received
    assert recorder is not None
    return len(recorder.recorder.select_notifications(start=1, limit=1_000_000))


def positions(harness: FeedHarness) -> dict[str, int]:
    return {key: harness.receiver.intake.position(key) for key in harness.source_keys()}


def assert_arrived_in_order(harness: FeedHarness) -> None:
    """Each aggregate's events were stored in version order, with no gaps."""
    received = harness.receiver.ledger.received
    assert received is not None
    last: dict[UUID | str, int] = {}
    for stored in received.recorder.select_notifications(start=1, limit=1_000_000):
        case = stored.originator_id
        assert stored.originator_version == last.get(case, 0) + 1, f"out of order: {case}"
        last[case] = stored.originator_version


def assert_trail_whole(harness: FeedHarness, number: str, versions: int) -> None:
    trail = harness.receiver.ledger.trail(number)
    assert [e.originator_version for e in trail] == list(range(1, versions + 1))
    previous = GENESIS
    for event in trail:
        assert event.prev_hash == previous
        assert digest(event.hashed_form()) == event.hash
        previous = event.hash


def test_every_acknowledged_event_arrives(harness: FeedHarness) -> None:
    numbers = drive_cases(harness, 12)
    wait_for(lambda: caught_up(harness), "the receiver to catch up")
    assert received_rows(harness) == source_head(harness)
    for number in numbers:
        assert_trail_whole(harness, number, versions=2)


def test_a_duplicate_delivery_changes_nothing(harness: FeedHarness) -> None:
    drive_cases(harness, 3)
    wait_for(lambda: caught_up(harness), "the receiver to catch up")
    rows, before = received_rows(harness), positions(harness)
    delivered = harness.delivered()
    assert sum(len(batch) for batch in delivered.values()) >= source_head(harness)
    for key, again in delivered.items():
        stored = harness.receiver.intake.take(key, again, head=before[key])
        assert stored == 0
    assert received_rows(harness) == rows
    assert positions(harness) == before


def test_per_case_order_is_kept_across_interleaved_cases(harness: FeedHarness) -> None:
    channel, stub = ledger_stub(harness.source)
    with channel:
        stub.PublishItem(ledger_pb2.PublishItemRequest(terms=rq.item_terms()))
        numbers = [stub.Submit(rq.submit()).result.case_number for _ in range(4)]
        for number in numbers:  # interleave the cases in the source's log
            stub.Accept(ledger_pb2.AcceptRequest(meta=rq.meta(), case=number, notice_no="受1号"))
        for number in reversed(numbers):
            stub.Suspend(ledger_pb2.SuspendRequest(meta=rq.meta(), case=number, reason="等待"))
    wait_for(lambda: caught_up(harness), "the receiver to catch up")
    for number in numbers:
        assert_trail_whole(harness, number, versions=3)
    assert_arrived_in_order(harness)


def test_a_receiver_restarted_mid_stream_catches_up_exactly(harness: FeedHarness) -> None:
    drive_cases(harness, 5)
    harness.stop_receiver()
    numbers = drive_cases(harness, 5, publish=False)  # appended while the receiver is down
    harness.start_receiver()
    wait_for(lambda: caught_up(harness), "the restarted receiver to catch up")
    assert received_rows(harness) == source_head(harness)
    for number in numbers:
        assert_trail_whole(harness, number, versions=2)


def test_a_source_restarted_mid_stream_is_resumed(harness: FeedHarness) -> None:
    drive_cases(harness, 3)
    wait_for(lambda: caught_up(harness), "the receiver to catch up")
    harness.stop_source()
    harness.start_source()
    numbers = drive_cases(harness, 3, publish=False)
    wait_for(lambda: caught_up(harness), "the receiver to resume after the source restarted")
    assert received_rows(harness) == source_head(harness)
    for number in numbers:
        assert_trail_whole(harness, number, versions=2)


def _sample(registry: CollectorRegistry, name: str, source: str) -> float | None:
    return registry.get_sample_value(name, {"source": source})


def _samples(harness: FeedHarness, name: str) -> list[float]:
    registry = harness.receiver.metrics.registry
    found = (_sample(registry, name, key) for key in harness.source_keys())
    return [value for value in found if value is not None]


def test_lag_is_measured_and_exported(harness: FeedHarness) -> None:
    drive_cases(harness, 4)
    wait_for(lambda: caught_up(harness), "the receiver to catch up")

    # The metrics are set just after the batch that caught up is stored.
    def settled() -> bool:
        lags = _samples(harness, "caseledger_replication_lag_events")
        received = sum(_samples(harness, "caseledger_events_received_total"))
        return bool(lags) and all(lag == 0 for lag in lags) and received == source_head(harness)

    wait_for(settled, "a lag of 0 with every received event counted")
    assert sum(_samples(harness, "caseledger_replication_delay_seconds_count")) > 0
