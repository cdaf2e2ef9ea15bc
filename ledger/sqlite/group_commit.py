"""Group commit: concurrent appends share one transaction and one fsync.

A durable append costs one fsync, and a disk does only so many a second. So
the first caller to find nobody writing becomes the leader: it takes
everything queued, its own events included, records it in one transaction,
and goes on doing so while more is queued; the others wait for their batch.
Under load the fsync is shared by the whole batch; without load a caller
writes its own events itself, with no hand-off to another thread.

Ordering: a caller's events are written together and in its order; a caller
is released only after its batch is committed, so nothing is acknowledged
before it is durable. If a batch fails (one caller's events conflict), each
caller's events are retried alone, so one bad append never fails another.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future

_Write = Callable[[Sequence[object]], None]
_Pending = tuple[Sequence[object], Future[None]]


class GroupCommit:
    def __init__(self, write: _Write, max_batch: int = 1000) -> None:
        self._write = write
        self._max_batch = max_batch
        self._queue: list[_Pending] = []
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._leading = False
        self._closed = False

    def commit(self, events: Sequence[object]) -> None:
        """Return once `events` are durable; raise what recording them raised."""
        done: Future[None] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the ledger is closed")
            self._queue.append((events, done))
            lead = not self._leading
            self._leading = True
        if lead:
            self._lead()
        done.result()

    def close(self) -> None:
        """Refuse new appends and wait until what was queued is written."""
        with self._lock:
            self._closed = True
            self._idle.wait_for(lambda: not self._leading)

    def _lead(self) -> None:
        while True:
            with self._lock:
                batch = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
                if not batch:
                    # Handing over under the lock: a caller that queues after
                    # this sees nobody leading and leads itself.
                    self._leading = False
                    self._idle.notify_all()
                    return
            self._record(batch)

    def _record(self, batch: list[_Pending]) -> None:
        try:
            self._write([event for events, _ in batch for event in events])
        except Exception as error:
            if len(batch) == 1:
                batch[0][1].set_exception(error)
                return
            for pending in batch:
                self._record([pending])
            return
        for _, done in batch:
            done.set_result(None)
