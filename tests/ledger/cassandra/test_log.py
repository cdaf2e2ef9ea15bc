"""The notification log on Cassandra: buckets, batches that run past them, and readers.

Buckets of five ids here, so a few events cross many bucket boundaries.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from itertools import islice
from uuid import uuid4

import pytest
from eventsourcing.persistence import DataError, Notification, ProgrammingError, StoredEvent
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caseledger.ledger.cassandra.factory import CassandraApplicationRecorder
from tests.cassandra_fixtures import (  # noqa: F401
    application,
    cassandra_keyspace,
    empty_store,
    opened,
    session,
    store_env,
)

pytestmark = [pytest.mark.cassandra, pytest.mark.usefixtures("cassandra_keyspace")]

BUCKET = 5
ENV = {"CASSANDRA_TABLE_PREFIX": "logtest_", "CASSANDRA_LOG_BUCKET_SIZE": str(BUCKET)}


def env(**extra: str) -> dict[str, str]:
    return store_env(**{**ENV, **extra})


@pytest.fixture
def recorder() -> Iterator[CassandraApplicationRecorder]:
    empty_store(env())
    with opened(env()) as factory:
        yield application(factory)


def events(count: int, topic: str = "topic") -> list[StoredEvent]:
    case = uuid4()
    return [StoredEvent(case, version, topic, b"{}") for version in range(1, count + 1)]


def stored_ids(bucket: int) -> list[int]:
    rows = session().rows(
        f"SELECT id FROM {store_env()['CASSANDRA_KEYSPACE']}.logtest_notification_log "
        "WHERE bucket = ?",
        (bucket,),
    )
    return [row["id"] for row in rows if row["id"] is not None]


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    batches=st.lists(st.integers(1, BUCKET), min_size=1, max_size=10),
    start=st.integers(0, 40),
    limit=st.integers(1, 12),
)
def test_a_read_returns_every_id_from_its_start_in_order(
    batches: list[int], start: int, limit: int
) -> None:
    empty_store(env())
    with opened(env()) as factory:
        recorder = application(factory)
        written: list[StoredEvent] = []
        for size in batches:
            batch = events(size)
            assert recorder.insert_events(batch) == list(
                range(len(written) + 1, len(written) + size + 1)
            )
            written += batch
        found = recorder.select_notifications(start, limit)
        first = max(start, 1)
        expected = list(range(first, min(first + limit, len(written) + 1)))
        assert [n.id for n in found] == expected
        assert [(n.originator_id, n.originator_version) for n in found] == [
            (written[i - 1].originator_id, written[i - 1].originator_version) for i in expected
        ]
        assert recorder.max_notification_id() == len(written)


def test_a_batch_is_stored_whole_in_the_bucket_of_its_first_id(
    recorder: CassandraApplicationRecorder,
) -> None:
    recorder.insert_events(events(3))
    recorder.insert_events(events(4))
    recorder.insert_events(events(2))
    assert stored_ids(0) == [1, 2, 3, 4, 5, 6, 7]
    assert stored_ids(1) == [8, 9]


def test_ids_past_a_bucket_are_read_from_the_bucket_before(
    recorder: CassandraApplicationRecorder,
) -> None:
    recorder.insert_events(events(3))
    recorder.insert_events(events(4))
    recorder.insert_events(events(2))
    assert [n.id for n in recorder.select_notifications(6, 10)] == [6, 7, 8, 9]
    assert [n.id for n in recorder.select_notifications(7, 10, inclusive_of_start=False)] == [8, 9]


def test_a_write_larger_than_a_bucket_is_refused_whole(
    recorder: CassandraApplicationRecorder,
) -> None:
    batch = events(BUCKET + 1)
    with pytest.raises(DataError):
        recorder.insert_events(batch)
    assert recorder.max_notification_id() is None
    assert recorder.select_events(batch[0].originator_id) == []


def test_a_reader_stops_at_a_missing_id_rather_than_skip_it(
    recorder: CassandraApplicationRecorder,
) -> None:
    recorder.insert_events(events(4))
    # A row two ids past the tail, in the next bucket: what a reader sees when
    # a later batch commits between its reads of two buckets.
    session().write(
        f"INSERT INTO {store_env()['CASSANDRA_KEYSPACE']}.logtest_notification_log "
        "(bucket, id, originator_id, originator_version, topic, state) "
        "VALUES (1, 6, ?, 1, 'topic', 0x)",
        (uuid4(),),
    )
    assert [n.id for n in recorder.select_notifications(1, 10)] == [1, 2, 3, 4]
    assert recorder.select_notifications(5, 10) == []


def test_topics_and_stop_select_across_buckets(recorder: CassandraApplicationRecorder) -> None:
    for topic in ("a", "b", "a", "b", "a"):
        recorder.insert_events(events(3, topic))
    found = recorder.select_notifications(2, 4, topics=["a"])
    assert [n.id for n in found] == [2, 3, 7, 8]
    assert {n.topic for n in found} == {"a"}
    assert [n.id for n in recorder.select_notifications(5, 10, stop=11)] == list(range(5, 12))
    assert [n.id for n in recorder.select_notifications(1, 10, stop=12, topics=["b"])] == [
        4,
        5,
        6,
        10,
        11,
        12,
    ]


def test_the_tail_is_found_by_a_reader_that_starts_cold(
    recorder: CassandraApplicationRecorder,
) -> None:
    for size in (5, 1, 5, 3, 5, 4):
        recorder.insert_events(events(size))
    with opened(env(CASSANDRA_READ_ONLY="yes")) as factory:
        assert application(factory).max_notification_id() == 23


def test_the_bucket_size_of_a_written_log_wins_over_the_setting(
    recorder: CassandraApplicationRecorder,
) -> None:
    for size in (5, 5, 5):
        recorder.insert_events(events(size))
    with opened(env(CASSANDRA_READ_ONLY="yes", CASSANDRA_LOG_BUCKET_SIZE="1000")) as factory:
        reader = application(factory)
        assert [n.id for n in reader.select_notifications(1, 100)] == list(range(1, 16))
        assert reader.max_notification_id() == 15


def test_a_read_only_store_refuses_writes(recorder: CassandraApplicationRecorder) -> None:
    with opened(env(CASSANDRA_READ_ONLY="yes")) as factory:
        reader = application(factory)
        with pytest.raises(ProgrammingError, match="read-only"):
            reader.insert_events(events(1))


def test_a_subscription_sees_appends_of_another_process(
    recorder: CassandraApplicationRecorder,
) -> None:
    recorder.insert_events(events(2))
    with opened(env(CASSANDRA_READ_ONLY="yes")) as factory:
        reader = application(factory)
        with reader.subscribe(gt=2) as subscription:
            # The writer is another factory: only polling can notice it.
            recorder.insert_events(events(3))
            seen: list[Notification] = []
            taker = threading.Thread(target=lambda: seen.extend(islice(subscription, 3)))
            taker.start()
            taker.join(timeout=10)
            subscription.stop()
    assert [n.id for n in seen] == [3, 4, 5]
    assert [n.originator_version for n in seen] == [1, 2, 3]
