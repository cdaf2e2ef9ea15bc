"""kill -9 during sustained appends to Cassandra, then restart.

A separate process (`tests.ledger.cassandra.appender`) appends a fixed
sequence of events and prints what was acknowledged. It is killed with
SIGKILL at arbitrary moments (three times), then made to kill itself
exactly between the log commit and the case sequences, and restarted after
each death (waiting out the dead writer's lease). A
consumer in this process follows the log all along from a read-only store.

Then: no acknowledged event is missing; the log is exactly a prefix of the
sequence (no gap, no duplicate); every logged event is in its case sequence
and no sequence holds an event the log lacks; and the consumer saw every id
once, in order.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.persistence import Notification

from caseledger.ledger.cassandra.factory import CassandraApplicationRecorder
from tests.cassandra_fixtures import (  # noqa: F401
    application,
    cassandra_keyspace,
    empty_store,
    opened,
    store_env,
)
from tests.ledger.cassandra.appender import VERSIONS_PER_CASE, batch_size, case_id, event

pytestmark = [pytest.mark.cassandra, pytest.mark.usefixtures("cassandra_keyspace")]

ROOT = Path(__file__).resolve().parents[3]
ENV = {
    "CASSANDRA_TABLE_PREFIX": "crashtest_",
    "CASSANDRA_LOG_BUCKET_SIZE": "16",
    # A restart after kill -9 waits for the dead writer's lease (2 s) to lapse.
    "CASSANDRA_LEASE_WAIT": "15",
}
TIMEOUT = 60.0


class Appender:
    """One appender process and the lines it printed."""

    def __init__(self, *args: str, errors: Path | None = None) -> None:
        self.acked: list[tuple[int, int]] = []
        self.ready: int | None = None
        self._seen = threading.Condition()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.ledger.cassandra.appender", *args],
            cwd=ROOT,
            env={**os.environ, **store_env(**ENV)},
            stdout=subprocess.PIPE,
            stderr=None if errors is None else errors.open("w"),
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            kind, *numbers = line.split()
            with self._seen:
                if kind == "READY":
                    self.ready = int(numbers[0])
                elif kind == "ACK":
                    self.acked.append((int(numbers[0]), int(numbers[1])))
                self._seen.notify_all()

    def wait_for_acks(self, count: int) -> None:
        with self._seen:
            done = self._seen.wait_for(lambda: len(self.acked) >= count, TIMEOUT)
        assert done, f"only {len(self.acked)} appends acknowledged"

    def wait_for_death(self) -> int:
        code = self.process.wait(TIMEOUT)
        self._reader.join(TIMEOUT)
        return code

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        assert self.wait_for_death() == -signal.SIGKILL

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        assert self.wait_for_death() == 0


class Consumer:
    """Follows the log from a read-only store, resuming from its own position."""

    def __init__(self, reader: CassandraApplicationRecorder) -> None:
        self.reader = reader
        self.seen: list[Notification] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        while not self._stop.is_set():
            position = self.seen[-1].id if self.seen else 0
            page = self.reader.select_notifications(position, 50, inclusive_of_start=False)
            self.seen.extend(page)
            if not page:
                time.sleep(0.05)

    def catch_up(self, last: int) -> None:
        deadline = time.monotonic() + TIMEOUT
        while (not self.seen or self.seen[-1].id < last) and time.monotonic() < deadline:
            time.sleep(0.05)
        self._stop.set()
        self._thread.join(TIMEOUT)


@pytest.fixture
def consumer() -> Iterator[Consumer]:
    empty_store(store_env(**ENV))
    with opened(store_env(**ENV, CASSANDRA_READ_ONLY="yes")) as factory:
        yield Consumer(application(factory))


def acked_ids(*appenders: Appender) -> set[int]:
    return {first + k for a in appenders for first, count in a.acked for k in range(count)}


def test_no_acknowledged_event_is_lost_and_the_log_stays_whole(consumer: Consumer) -> None:
    killed = []
    for acks in (40, 90, 130):
        appender = Appender()
        appender.wait_for_acks(acks)
        appender.kill()
        killed.append(appender)

    dying = Appender("--die-in-window", "15")
    assert dying.wait_for_death() == -signal.SIGKILL
    assert dying.ready is not None
    last_acked = dying.ready + sum(count for _, count in dying.acked)
    # The append that died had its batch logged, and none of it in the cases yet.
    torn = [event(j) for j in range(last_acked, last_acked + batch_size(last_acked))]
    with opened(store_env(**ENV, CASSANDRA_READ_ONLY="yes")) as factory:
        before_repair = application(factory)
        assert before_repair.max_notification_id() == last_acked + len(torn)
        for lost in torn:
            assert lost not in before_repair.select_events(lost.originator_id)

    restarted = Appender()
    restarted.wait_for_acks(60)
    restarted.stop()

    with opened(store_env(**ENV, CASSANDRA_READ_ONLY="yes")) as factory:
        store = application(factory)
        last = store.max_notification_id()
        assert last is not None
        log = store.select_notifications(1, last + 10)
        consumer.catch_up(last)
        # The log is the fixed sequence's prefix 1..last: no gap, no duplicate.
        assert [n.id for n in log] == list(range(1, last + 1))
        assert [(n.originator_id, n.originator_version, n.state) for n in log] == [
            (e.originator_id, e.originator_version, e.state)
            for e in (event(j) for j in range(last))
        ]
        # Nothing acknowledged is missing.
        assert acked_ids(*killed, dying, restarted) <= set(range(1, last + 1))
        # Case sequences hold exactly the logged events, the torn append repaired.
        cases: dict[UUID, list[int]] = {}
        for j in range(last + VERSIONS_PER_CASE):
            cases.setdefault(case_id(j), [])
        for j in range(last):
            cases[case_id(j)].append(event(j).originator_version)
        for case, versions in cases.items():
            assert [e.originator_version for e in store.select_events(case)] == versions
        for repaired in torn:
            assert repaired in store.select_events(repaired.originator_id)
    # The consumer resumed across every death: each id once, in order.
    assert [n.id for n in consumer.seen] == list(range(1, last + 1))


def test_a_writer_that_stalled_past_its_lease_cannot_write_after_the_takeover(
    consumer: Consumer, tmp_path: Path
) -> None:
    stalled = Appender(errors=tmp_path / "stalled.err")
    stalled.wait_for_acks(30)
    stalled.signal(signal.SIGSTOP)
    successor = Appender()
    successor.wait_for_acks(30)
    assert successor.ready is not None
    stalled.signal(signal.SIGCONT)
    # Its next append meets the successor's epoch in the log and is refused.
    assert stalled.wait_for_death() != 0
    assert "WriterFenced" in (tmp_path / "stalled.err").read_text()
    successor.wait_for_acks(len(successor.acked) + 20)
    successor.stop()
    # At most the append in flight when it stalled lands, and only if it
    # committed before the takeover (the successor's start saw it).
    late = [first for first, _ in stalled.acked if first > successor.ready]
    assert late == []
    with opened(store_env(**ENV, CASSANDRA_READ_ONLY="yes")) as factory:
        store = application(factory)
        last = store.max_notification_id()
        assert last is not None
        log = store.select_notifications(1, last + 10)
        consumer.catch_up(last)
    assert [(n.originator_id, n.originator_version) for n in log] == [
        (e.originator_id, e.originator_version) for e in (event(j) for j in range(last))
    ]
    assert [n.id for n in consumer.seen] == list(range(1, last + 1))
