"""Following a log from a position: the recorder's subscription, taken in batches.

Whatever follows one of a node's logs (the log stream, the Kafka publisher,
the courier, the handoffs, the views) follows it this one way: the
recorder's `subscribe(gt=position)`, which the stores a node runs on all
have (the subscribing SQLite module, the Cassandra module, the library's
in-memory one). A subscription is woken by the commits of this process at
once, and reads again every poll interval for those of other processes; so
no follower sleeps on a timer of its own to find new events.

A subscription's iterator blocks while the log is idle, and a follower has
more to do than wait: notice that it is stopping, send what it owes once it
has caught up, put back what it could not carry. So `LogTail` drains the
subscription into a bounded queue on a thread of its own, and the follower
takes batches from it with a timeout (`take`), puts back the part of a batch
it did not use (`give_back`), and starts again from its recorded position
after a failure by making a new tail.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Sequence

from eventsourcing import sqlite as library
from eventsourcing.persistence import ApplicationRecorder, Notification, Subscription

__all__ = ["LogTail", "can_subscribe"]

_CAPACITY = 10_000
"""Notifications held ahead of the follower; the subscription waits beyond them."""


def can_subscribe(recorder: ApplicationRecorder) -> bool:
    """Whether the recorder implements `subscribe` (the library's own SQLite
    recorder only raises NotImplementedError)."""
    return type(recorder).subscribe is not library.SQLiteApplicationRecorder.subscribe


class LogTail:
    """The notifications of one log after a position, as they are committed.

    Raises NotImplementedError for a recorder that cannot subscribe. A
    failure of the subscription (the store out of reach) is raised by `take`
    once everything read before it was taken; the tail is then spent, and
    the follower makes a new one from its recorded position."""

    def __init__(
        self,
        recorder: ApplicationRecorder,
        after: int = 0,
        topics: Sequence[str] = (),
        name: str = "log-tail",
    ) -> None:
        if not can_subscribe(recorder):
            raise NotImplementedError(f"{type(recorder).__qualname__} cannot subscribe")
        self._subscription: Subscription[ApplicationRecorder] = recorder.subscribe(
            gt=after or None, topics=topics
        )
        self._arrived: queue.Queue[Notification] = queue.Queue(maxsize=_CAPACITY)
        self._returned: deque[Notification] = deque()
        self._stopping = threading.Event()
        self._ended = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._drain, name=name, daemon=True)
        self._thread.start()

    def take(self, limit: int, timeout: float) -> list[Notification]:
        """Up to `limit` of the next notifications, in log order: waits at most
        `timeout` seconds for the first, then takes only what has arrived
        already. Empty when nothing arrived meanwhile."""
        batch: list[Notification] = []
        while self._returned and len(batch) < limit:
            batch.append(self._returned.popleft())
        if not batch:
            try:
                if timeout > 0:
                    batch.append(self._arrived.get(timeout=timeout))
                else:
                    batch.append(self._arrived.get_nowait())
            except queue.Empty:
                self._raise_if_failed()
                return batch
        while len(batch) < limit:
            try:
                batch.append(self._arrived.get_nowait())
            except queue.Empty:
                break
        return batch

    def give_back(self, notifications: Sequence[Notification]) -> None:
        """Put back the unused end of a batch: the next `take` starts with it."""
        self._returned.extendleft(reversed(notifications))

    def stop(self) -> None:
        """Stop the subscription; what was not taken is dropped."""
        self._stopping.set()
        self._subscription.stop()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=10)

    def __enter__(self) -> LogTail:
        return self

    def __exit__(self, *args: object) -> None:
        self.stop()

    def _raise_if_failed(self) -> None:
        if self._ended.is_set() and self._arrived.empty() and self._error is not None:
            raise self._error

    def _drain(self) -> None:
        try:
            with self._subscription:
                for notification in self._subscription:
                    while not self._stopping.is_set():
                        try:
                            self._arrived.put(notification, timeout=0.1)
                            break
                        except queue.Full:
                            continue
                    if self._stopping.is_set():
                        return
        except BaseException as error:
            self._error = error
        finally:
            if self._error is None and not self._stopping.is_set():
                # Ended by the store rather than by `stop`: nothing more will come.
                self._error = RuntimeError("the log's subscription ended")
            self._ended.set()
