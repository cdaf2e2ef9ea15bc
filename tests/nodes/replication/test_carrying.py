"""What a transport cannot carry, or a source's log no longer holds, is reported
for that event or position, and the source's later events still come.

- gRPC: a position the source's log skips (a row deleted from its store) is
  recorded as a `log_gap` by the receiver; a record over the receiver's
  message limit is recorded and stepped over;
- Kafka: a record over the message limit is left out of the topic, logged
  and counted by case and version at the source, and the publisher goes on;
  a page is cut so that one send stays within the producer's request size.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, MutableMapping
from typing import Any
from uuid import UUID

import pytest
import structlog

from caseledger.ledger.trail.quarantine import Reason
from caseledger.nodes.replication import kafka_client
from caseledger.nodes.replication.kafka_feed import MAX_RECORD_BYTES
from caseledger.nodes.service.server import RunningNode
from tests.nodes import tamper
from tests.nodes.replication.feeds import (
    TOWNSHIP,
    GrpcHarness,
    KafkaHarness,
    assert_trail_whole,
    drive_cases,
    wait_for,
)
from tests.nodes.replication.poison import quarantined, sample_sum, trail_versions

MIB = 1024 * 1024


@pytest.fixture
def store_kind() -> str:
    """The tampering is done on SQLite files."""
    return "sqlite"


@pytest.fixture
def logs() -> Iterator[list[MutableMapping[str, Any]]]:
    with structlog.testing.capture_logs() as captured:
        yield captured


def position_of(node: RunningNode, case_id: UUID, version: int) -> int:
    log = node.ledger.recorder.select_notifications(start=1, limit=10_000)
    (found,) = [n.id for n in log if n.originator_id == case_id and n.originator_version == version]
    return found


def padded(node: RunningNode, case_id: UUID, version: int, size: int) -> None:
    """Event `version` of the case grown to `size` more bytes in the source's store;
    trailing whitespace, so it still decodes to the same event (and hash)."""
    (event,) = [
        e for e in tamper.stored(node.config.event_db, case_id) if e.originator_version == version
    ]
    tamper.replace_state(node.config.event_db, case_id, version, event.state + b" " * size)


def test_a_position_the_source_log_skips_is_recorded_and_the_rest_arrives(
    grpc_harness: GrpcHarness,
) -> None:
    grpc_harness.stop_receiver()
    first, skipped, last = drive_cases(grpc_harness.source, 3)
    case_id = grpc_harness.source.ledger.resolve(skipped)
    hole = position_of(grpc_harness.source, case_id, 2)
    tamper.delete_event(grpc_harness.source.config.event_db, case_id, 2)

    grpc_harness.start_receiver()
    wait_for(grpc_harness.caught_up, "the receiver to read past the hole")

    (entry,) = quarantined(grpc_harness.receiver)
    assert (entry.case, entry.source, entry.version, entry.reason) == (
        "",
        TOWNSHIP,
        hole,
        Reason.LOG_GAP,
    )
    assert f"positions {hole}..{hole}" in entry.detail
    for number in (first, last):
        assert_trail_whole(grpc_harness.receiver, number, versions=2)
    assert trail_versions(grpc_harness.receiver, skipped) == 1


def test_a_record_over_the_receive_limit_is_recorded_and_stepped_over(
    grpc_harness: GrpcHarness,
) -> None:
    grpc_harness.stop_receiver()
    big, after = drive_cases(grpc_harness.source, 2)
    case_id = grpc_harness.source.ledger.resolve(big)
    position = position_of(grpc_harness.source, case_id, 2)
    padded(grpc_harness.source, case_id, 2, 5 * MIB)

    grpc_harness.start_receiver()
    wait_for(grpc_harness.caught_up, "the receiver to step over the record")

    (entry,) = quarantined(grpc_harness.receiver)
    assert (entry.source, entry.version) == (TOWNSHIP, position)
    # Skipped by this node as too large, or by the source before it (a hole then).
    assert entry.reason in (Reason.UNCARRIED, Reason.LOG_GAP)
    assert_trail_whole(grpc_harness.receiver, after, versions=2)
    assert trail_versions(grpc_harness.receiver, big) == 1


def rewind_published(harness: KafkaHarness, to: int) -> None:
    """The source's publisher forgets what it published after `to` (it is stopped)."""
    topic = harness.layout.authored(TOWNSHIP)
    database = harness.source.config.published_db
    with contextlib.closing(sqlite3.connect(database)) as db, db:
        db.execute(
            "UPDATE tracking SET notification_id = ? WHERE application_name = ?", (to, topic)
        )


@pytest.mark.kafka
def test_a_record_over_the_message_limit_is_reported_and_the_publisher_goes_on(
    kafka_harness: KafkaHarness, logs: list[MutableMapping[str, Any]]
) -> None:
    (big,) = drive_cases(kafka_harness.source, 1)
    wait_for(kafka_harness.caught_up, "the receiver to catch up")
    case_id = kafka_harness.source.ledger.resolve(big)
    position = position_of(kafka_harness.source, case_id, 2)
    kafka_harness.stop_source()
    padded(kafka_harness.source, case_id, 2, MAX_RECORD_BYTES)
    rewind_published(kafka_harness, position - 1)
    kafka_harness.start_source()

    (after,) = drive_cases(kafka_harness.source, 1, publish=False)
    wait_for(kafka_harness.caught_up, "the publisher to go on past the record")

    assert_trail_whole(kafka_harness.receiver, after, versions=2)
    counted = sample_sum(
        kafka_harness.source,
        "caseledger_events_not_published_total",
        case=str(case_id),
        version="2",
    )
    assert counted == 1
    (line,) = [e for e in logs if e["event"] == "event over the message limit: not published"]
    assert (line["case"], line["version"], line["position"]) == (str(case_id), 2, position)
    assert line["log_level"] == "error"


@pytest.mark.kafka
def test_a_page_is_cut_so_that_each_send_stays_within_the_request_size(
    kafka_harness: KafkaHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    numbers = drive_cases(kafka_harness.source, 3)
    wait_for(kafka_harness.caught_up, "the receiver to catch up")
    cases = [kafka_harness.source.ledger.resolve(n) for n in numbers]
    first = position_of(kafka_harness.source, cases[0], 2)
    kafka_harness.stop_source()
    for case_id in cases:  # three events of 400 KiB each: more than one request's worth
        padded(kafka_harness.source, case_id, 2, 400 * 1024)
    rewind_published(kafka_harness, first - 1)
    sends: list[int] = []
    send_all = kafka_client.TopicProducer.send_all

    def measured(self: kafka_client.TopicProducer, records: Any) -> int:
        records = list(records)
        sends.append(sum(len(key) + len(value) for _, key, value in records))
        return send_all(self, records)

    monkeypatch.setattr(kafka_client.TopicProducer, "send_all", measured)
    kafka_harness.start_source()
    (after,) = drive_cases(kafka_harness.source, 1, publish=False)
    wait_for(kafka_harness.caught_up, "the publisher to send the large events again")

    assert sum(1 for size in sends if size > 400 * 1024) >= 2  # the large ones went apart
    assert all(size <= MAX_RECORD_BYTES for size in sends), sends
    assert_trail_whole(kafka_harness.receiver, after, versions=2)
