"""What every replication adapter must guarantee, run against each adapter.

Nothing acknowledged is lost, nothing is applied twice (what the transport
delivered is handed to the intake again at its own positions), per-case order
is kept (in what is stored and in the order it arrived), a receiver restarted
mid-stream catches up exactly, a source restarted mid-stream is resumed, and
lag is exported. The duplicates the transports themselves make (a stream
resumed early, records sent again at new offsets, a batch delivered again
above the tracked position) are in test_duplicates.py; node processes
killed with SIGKILL mid-stream in test_crashes.py. The Kafka adapter runs
against the real broker named by CASELEDGER_KAFKA; without one its tests
fail. Each adapter runs with both nodes on SQLite and with both on Cassandra
(`store_kind`; the province, which receives every case of the province, is
the node that outgrows a disk). The harnesses are in conftest.py.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from caseledger.v1 import ledger_pb2
from tests.nodes import requests as rq
from tests.nodes.replication import feeds
from tests.nodes.replication.feeds import FeedHarness, ledger_stub, positions, wait_for


def source_head(harness: FeedHarness) -> int:
    return feeds.source_head(harness.source)


def caught_up(harness: FeedHarness) -> bool:
    return harness.caught_up()


def drive_cases(harness: FeedHarness, count: int, publish: bool = True) -> list[str]:
    return feeds.drive_cases(harness.source, count, publish)


def received_rows(harness: FeedHarness) -> int:
    return feeds.received_rows(harness.receiver)


def assert_arrived_in_order(harness: FeedHarness) -> None:
    feeds.assert_arrived_in_order(harness.receiver)


def assert_trail_whole(harness: FeedHarness, number: str, versions: int) -> None:
    feeds.assert_trail_whole(harness.receiver, number, versions)


def test_every_acknowledged_event_arrives(harness: FeedHarness) -> None:
    numbers = drive_cases(harness, 12)
    wait_for(lambda: caught_up(harness), "the receiver to catch up")
    assert received_rows(harness) == source_head(harness)
    for number in numbers:
        assert_trail_whole(harness, number, versions=2)


def test_a_batch_handed_again_at_its_own_positions_changes_nothing(
    harness: FeedHarness,
) -> None:
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
        stub.PublishItem(ledger_pb2.PublishItemRequest(terms=rq.item_terms(), meta=rq.publisher()))
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
