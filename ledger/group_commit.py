"""Group commit: concurrent appends share one transaction and one fsync.

A durable append costs one fsync, and a disk does only so many a second. So
callers hand their events to one writer thread and wait; the writer takes
everything queued since its last write and records it in one transaction.
Under load the fsync is shared by the whole batch; without load a batch is
one call and the cost is one thread hand-off.

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


class GroupCommit:
    def __init__(self, write: _Write, max_batch: int = 1000) -> None:
        self._write = write
        self._max_batch = max_batch
        self._queue: list[tuple[Sequence[object], Future[None]]] = []
        self._ready = threading.Condition()
        self._closed = False
        self._writer = threading.Thread(target=self._run, name="group-commit", daemon=True)
        self._writer.start()

    def commit(self, events: Sequence[object]) -> None:
        """Return once `events` are durable; raise what recording them raised."""
        done: Future[None] = Future()
        with self._ready:
            if self._closed:
                raise RuntimeError("the ledger is closed")
            self._queue.append((events, done))
            self._ready.notify()
        done.result()

    def close(self) -> None:
        """Write what is queued, then stop the writer."""
        with self._ready:
            self._closed = True
            self._ready.notify()
        self._writer.join()

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._closed:
                    self._ready.wait()
                if not self._queue:
                    return
                batch = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
            self._record(batch)

    def _record(self, batch: list[tuple[Sequence[object], Future[None]]]) -> None:
        try:
            self._write([event for events, _ in batch for event in events])
        except Exception as error:
            if len(batch) == 1:
                batch[0][1].set_exception(error)
                return
            for events, done in batch:
                self._record([(events, done)])
            return
        for _, done in batch:
            done.set_result(None)
