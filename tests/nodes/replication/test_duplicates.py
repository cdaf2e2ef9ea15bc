"""Duplicates as the transports really make them, each stored once.

The conformance suite hands the intake a batch again at its own positions,
which the position check answers. The duplicates here come through the real
feeds, on each store kind, and reach what lies past that check in
`ReceivedEvents.receive`:

- a batch delivered again above the position the receiver tracks (a gRPC
  stream resumed, Kafka partitions read again, from a position behind the
  events the receiver holds): its events are already stored, so the store
  refuses them (IntegrityError) and only what is new is stored;
- records a publisher sends again (Kafka): the same events at new offsets,
  above every tracked position, refused the same way;
- a stream that a source resumes before the position the receiver asked
  from (gRPC): its first batch overlaps what the receiver holds, and only
  the positions past the tracked one are taken.

Each ends with every event of the source stored once, counted once, in
version order, and every trail whole.
"""

from __future__ import annotations

import pytest

from tests.nodes.replication import feeds
from tests.nodes.replication.feeds import (
    EarlyResumingLog,
    FeedHarness,
    GrpcHarness,
    KafkaHarness,
    Relay,
    counted,
    drive_cases,
    positions,
    received_rows,
    rewind_tracking,
    source_head,
    wait_for,
)
from tests.pki import shared_pki


def assert_stored_once(harness: FeedHarness, numbers: list[str]) -> None:
    assert received_rows(harness.receiver) == source_head(harness.source)
    feeds.assert_arrived_in_order(harness.receiver)
    for number in numbers:
        feeds.assert_trail_whole(harness.receiver, number, versions=2)


def test_a_batch_delivered_again_above_the_tracked_position_stores_only_what_is_new(
    harness: FeedHarness,
) -> None:
    numbers = drive_cases(harness.source, 4)
    wait_for(harness.caught_up, "the receiver to catch up")
    held = received_rows(harness.receiver)
    tracked = positions(harness)
    harness.stop_receiver()
    for key, position in tracked.items():
        if position:
            rewind_tracking(harness.receiver.config, key, position // 2)
    numbers += drive_cases(harness.source, 2, publish=False)  # new events behind the held ones
    harness.start_receiver()
    wait_for(harness.caught_up, "the receiver to take the batch delivered again")
    assert_stored_once(harness, numbers)
    assert counted(harness) == source_head(harness.source) - held


@pytest.mark.kafka
def test_records_a_publisher_sends_again_at_new_offsets_are_stored_once(
    kafka_harness: KafkaHarness,
) -> None:
    numbers = drive_cases(kafka_harness.source, 3)
    wait_for(kafka_harness.caught_up, "the receiver to catch up")
    sent = sum(kafka_harness.reader.end_offsets().values())
    assert kafka_harness.send_again() == sent
    numbers += drive_cases(kafka_harness.source, 2, publish=False)
    wait_for(kafka_harness.caught_up, "the receiver to take the records sent again")
    assert sum(kafka_harness.reader.end_offsets().values()) > source_head(kafka_harness.source)
    assert_stored_once(kafka_harness, numbers)
    assert counted(kafka_harness) == source_head(kafka_harness.source)


def test_a_stream_resumed_before_the_asked_position_stores_only_what_is_new(
    grpc_harness: GrpcHarness,
) -> None:
    numbers = drive_cases(grpc_harness.source, 4)
    wait_for(grpc_harness.caught_up, "the receiver to catch up")
    held = received_rows(grpc_harness.receiver)
    grpc_harness.stop_receiver()
    numbers += drive_cases(grpc_harness.source, 2, publish=False)
    source = grpc_harness.source.config
    relay = Relay(
        EarlyResumingLog(grpc_harness.source.address),
        shared_pki().node(source.data_dir, source.code),
    )
    try:
        grpc_harness.start_receiver(via=relay.address)
        wait_for(grpc_harness.caught_up, "the receiver to take the stream resumed early")
        assert relay.log.asked[0] == held  # it asked after what it holds; half of it came again
        assert_stored_once(grpc_harness, numbers)
        assert counted(grpc_harness) == source_head(grpc_harness.source) - held
    finally:
        relay.stop()
