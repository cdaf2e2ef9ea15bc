"""SQLite recorders that can follow their log: `subscribe(gt=position)`.

The library's SQLite application recorder has no `subscribe()`, and SQLite
cannot notify. A subscription here is the library's listen-and-pull
subscription, woken two ways:

- after every commit made in this process to the same database file (any
  recorder of that file wakes every subscription of that file), so a local
  follower sees a new event as soon as it is durable;
- every `poll_interval` seconds, which is how commits made by another
  process are seen: SQLite gives no other sign of them.

A wake-up only makes the subscription read again from its last position, so
a spurious one costs a query and a missed one costs at most a poll interval.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from eventsourcing import sqlite as library
from eventsourcing.persistence import ListenNotifySubscription, StoredEvent

from caseledger.ledger.sqlite import merkle_log

__all__ = [
    "DEFAULT_POLL_INTERVAL",
    "CommitWakeups",
    "SQLiteSubscription",
    "SubscribingMerkleLogRecorder",
    "SubscribingSQLiteApplicationRecorder",
    "SubscribingSQLiteProcessRecorder",
    "wakeups",
]

DEFAULT_POLL_INTERVAL = 0.5
"""Seconds between reads when nothing in this process committed."""


class CommitWakeups:
    """Who follows which database file in this process, to wake them after a commit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: dict[str, set[threading.Event]] = defaultdict(set)

    def listen(self, database: str, wake: threading.Event) -> None:
        with self._lock:
            self._listeners[database].add(wake)

    def unlisten(self, database: str, wake: threading.Event) -> None:
        with self._lock:
            listeners = self._listeners.get(database)
            if listeners is not None:
                listeners.discard(wake)
                if not listeners:
                    del self._listeners[database]

    def committed(self, database: str) -> None:
        with self._lock:
            listeners = tuple(self._listeners.get(database, ()))
        for wake in listeners:
            wake.set()


wakeups = CommitWakeups()
"""The process's registry: recorders of one file may be made by different factories."""


def _database(recorder: library.SQLiteRecorder) -> str:
    return recorder.datastore.pool.db_name


class SQLiteSubscription(ListenNotifySubscription["_Subscribable"]):
    """The library's pull loop, woken by local commits and by a poll timer."""

    def __init__(
        self,
        recorder: _Subscribable,
        gt: int | None = None,
        topics: Sequence[str] = (),
        poll_interval: float = DEFAULT_POLL_INTERVAL,
    ) -> None:
        super().__init__(recorder=recorder, gt=gt, topics=topics)
        self._database = _database(recorder)
        self._stopped = threading.Event()
        wakeups.listen(self._database, self._has_been_notified)
        # A commit between the first pull and listening would otherwise wait
        # for the timer: one extra read closes that window.
        self._has_been_notified.set()
        self._timer = threading.Thread(
            target=self._tick, args=(poll_interval,), name="sqlite-subscription-poll", daemon=True
        )
        self._timer.start()

    def _tick(self, interval: float) -> None:
        while not self._stopped.wait(interval):
            self._has_been_notified.set()

    def stop(self) -> None:
        super().stop()
        self._stopped.set()
        wakeups.unlisten(self._database, self._has_been_notified)


class _Subscribable(library.SQLiteApplicationRecorder):
    """Wakes the file's subscriptions after each commit and hands out subscriptions."""

    poll_interval: float = DEFAULT_POLL_INTERVAL

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        positions = super().insert_events(stored_events, **kwargs)
        # Only after the commit: a follower woken earlier would read nothing new.
        wakeups.committed(_database(self))
        return positions

    def subscribe(self, gt: int | None = None, topics: Sequence[str] = ()) -> SQLiteSubscription:
        return SQLiteSubscription(self, gt=gt, topics=topics, poll_interval=self.poll_interval)


class SubscribingSQLiteApplicationRecorder(_Subscribable):
    """The library's SQLite application recorder, with `subscribe()`."""


class SubscribingSQLiteProcessRecorder(_Subscribable, library.SQLiteProcessRecorder):
    """The library's SQLite process recorder, with `subscribe()`.

    Inserting events with their tracking is one transaction, as in the
    library; the wake-up follows the commit.
    """


class SubscribingMerkleLogRecorder(_Subscribable, merkle_log.SQLiteApplicationRecorder):
    """A node's own log with its Merkle log (`merkle_log`), with `subscribe()`.

    The wake-up follows the commit of the events and their tree together.
    """
