"""Following a SQLite log: woken by local commits, polling for other writers."""

from __future__ import annotations

import random
import time
from pathlib import Path
from uuid import uuid4

import pytest
from eventsourcing.persistence import Notification, StoredEvent
from eventsourcing.sqlite import SQLiteFactory

from caseledger.ledger.sqlite.subscribing import SubscribingSQLiteFactory
from caseledger.ledger.sqlite.subscription import (
    SubscribingMerkleLogRecorder,
    SubscribingSQLiteApplicationRecorder,
    wakeups,
)
from tests.projections.histories import START, case_mapper, simulate
from tests.samples import LIXIA


def _event() -> StoredEvent:
    return StoredEvent(originator_id=uuid4(), originator_version=1, topic="t", state=b"{}")


def _factory(db: Path, poll: str) -> SubscribingSQLiteFactory:
    return SubscribingSQLiteFactory({"SQLITE_DBNAME": str(db), "SQLITE_POLL_INTERVAL": poll})


def _recorder(factory: SubscribingSQLiteFactory) -> SubscribingSQLiteApplicationRecorder:
    recorder = factory.application_recorder()
    assert isinstance(recorder, SubscribingSQLiteApplicationRecorder)
    return recorder


def test_a_local_commit_wakes_a_subscription_long_before_its_poll(tmp_path: Path) -> None:
    factory = _factory(tmp_path / "e.sqlite", poll="60")
    recorder = _recorder(factory)
    try:
        with recorder.subscribe(gt=0) as subscription:
            time.sleep(0.2)  # the subscription has read an empty log and sleeps
            started = time.monotonic()
            recorder.insert_events([_event()])
            first: Notification = next(subscription)
            assert first.id == 1
            assert time.monotonic() - started < 5
    finally:
        factory.close()


def test_a_commit_by_another_recorder_of_the_same_file_wakes_it(tmp_path: Path) -> None:
    db = tmp_path / "e.sqlite"
    following, writing = _factory(db, poll="60"), _factory(db, poll="60")
    try:
        with _recorder(following).subscribe(gt=0) as subscription:
            time.sleep(0.2)
            _recorder(writing).insert_events([_event()])
            assert next(subscription).id == 1
    finally:
        following.close()
        writing.close()


def test_a_commit_nobody_signals_is_seen_by_polling(tmp_path: Path) -> None:
    db = tmp_path / "e.sqlite"
    factory = _factory(db, poll="0.1")
    # The library's own recorder stands for another process: it wakes nobody.
    other = SQLiteFactory({"SQLITE_DBNAME": str(db)})
    try:
        with _recorder(factory).subscribe(gt=0) as subscription:
            time.sleep(0.2)
            other.application_recorder().insert_events([_event()])
            assert next(subscription).id == 1
    finally:
        factory.close()
        other.close()


def test_a_stopped_subscription_no_longer_listens(tmp_path: Path) -> None:
    db = tmp_path / "e.sqlite"
    factory = _factory(db, poll="60")
    try:
        with _recorder(factory).subscribe(gt=0):
            assert str(db) in wakeups._listeners
        assert str(db) not in wakeups._listeners
    finally:
        factory.close()


@pytest.mark.parametrize("value", ["soon", "0", "-1"])
def test_a_poll_interval_that_is_not_a_positive_number_is_refused(
    tmp_path: Path, value: str
) -> None:
    with pytest.raises(OSError, match="SQLITE_POLL_INTERVAL"):
        _factory(tmp_path / "e.sqlite", poll=value)


def test_the_node_own_log_with_its_merkle_log_can_be_followed(tmp_path: Path) -> None:
    # The library's suites write events under made-up names, which a Merkle
    # leaf refuses; this log is followed with the ledger's own events.
    factory = _factory(tmp_path / "e.sqlite", poll="60")
    recorder = SubscribingMerkleLogRecorder(factory.datastore)
    recorder.create_table()
    events = simulate(random.Random(1), [LIXIA], 2, START)
    mapper = case_mapper()
    try:
        with recorder.subscribe(gt=0) as subscription:
            time.sleep(0.2)
            for event in events:
                recorder.insert_events([mapper.to_stored_event(event)])
            got = [next(subscription) for _ in events]
        assert [(n.originator_id, n.originator_version) for n in got] == [
            (e.originator_id, e.originator_version) for e in events
        ]
        with recorder.tree() as tree:
            assert tree.size == len(events)
    finally:
        factory.close()
