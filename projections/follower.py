"""Running a projection: one subscription per upstream log, from its tracked position.

Each upstream (the node's authored log, its received events) is followed
with `subscribe(gt=position)` on its recorder — the library's in-memory
recorders, the subscribing SQLite recorders (`ledger.sqlite.subscribing`)
or the Cassandra module — and processed in batches: whatever arrived while
the last batch was written goes into the next, up to `batch_size`. A
batch and its position are one transaction, so stopping or crashing
anywhere resumes exactly where the view says it is.

A batch costs a transaction whatever it holds, and a node taking a steady
stream of appends would otherwise write one batch per append, each a
commit, taking the interpreter from the appends as often. So a follower
writes at most one batch per `pace` seconds per upstream: the first event
after a quiet spell is written at once, and while events keep coming each
batch carries what arrived during the pause (or `batch_size`, when behind,
which is written without one). A view is then at most `pace` behind its
log, plus the batch's own time.

Each upstream is followed the ledger's one way (`LogTail`, which drains the
subscription on a thread of its own), by one thread that writes the batches
it takes. A failure stops the follower and stays in `error`; observers
(`observe`) hear of any stop, for health.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

from eventsourcing.persistence import ApplicationRecorder

from caseledger.ledger.held.following import LogTail, can_subscribe
from caseledger.projections.projection import CaseProjection

__all__ = ["Follower"]


class Follower:
    """Follows every upstream of one projection until stopped."""

    def __init__(
        self,
        projection: CaseProjection,
        upstreams: Mapping[str, ApplicationRecorder],
        batch_size: int = 1000,
        pace: float = 0.02,
    ) -> None:
        self._projection = projection
        self._upstreams = dict(upstreams)
        self._batch_size = batch_size
        self._pace = pace
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._tails: list[LogTail] = []
        self._lock = threading.Lock()
        self._observers: list[Callable[[Follower], None]] = []
        self._started = False
        self.error: BaseException | None = None

    @property
    def projection(self) -> CaseProjection:
        return self._projection

    @property
    def upstreams(self) -> Mapping[str, ApplicationRecorder]:
        return self._upstreams

    @property
    def running(self) -> bool:
        """Started, and neither stopped nor failed."""
        return self._started and not self._stopping.is_set()

    def observe(self, stopped: Callable[[Follower], None]) -> None:
        """Call `stopped` once the follower stops, by `stop()` or by a failure (then
        `error` is set): a health check turns on it rather than polling."""
        self._observers.append(stopped)

    def start(self) -> None:
        """Subscribe to every upstream from the view's position and follow them.

        Raises NotImplementedError, before anything runs, for a store whose
        recorders cannot subscribe."""
        for recorder in self._upstreams.values():
            if not can_subscribe(recorder):
                raise NotImplementedError(f"{type(recorder).__qualname__} cannot subscribe")
        self._started = True
        for name, recorder in self._upstreams.items():
            position = self._projection.view.position(name) or 0
            tail = LogTail(recorder, position, name=f"projection-{name}-tail")
            self._tails.append(tail)
            thread = threading.Thread(
                target=lambda n=name, t=tail: self._write(n, t),
                name=f"projection-{name}-write",
                daemon=True,
            )
            self._threads.append(thread)
            thread.start()

    def stop(self) -> None:
        self._stop()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=10)

    def _stop(self) -> None:
        with self._lock:
            first = not self._stopping.is_set()
            self._stopping.set()
        for tail in self._tails:
            tail.stop()
        if first and self._started:
            for observer in self._observers:
                observer(self)

    def wait(self, upstream: str, position: int, timeout: float = 10.0) -> None:
        """Block until `upstream` is processed up to `position` (TimeoutError)."""
        self._projection.view.wait(upstream, position or None, timeout=timeout)

    def _fail(self, error: BaseException) -> None:
        with self._lock:
            if self.error is None:
                self.error = error
        self._stop()

    def _write(self, upstream: str, tail: LogTail) -> None:
        try:
            while not self._stopping.is_set():
                batch = tail.take(self._batch_size, timeout=0.1)
                if not batch:
                    continue
                started = time.monotonic()
                self._projection.process(upstream, batch)
                if len(batch) < self._batch_size:
                    # Caught up: let the next batch gather for the rest of the pace.
                    self._stopping.wait(max(0.0, self._pace - (time.monotonic() - started)))
        except BaseException as error:
            self._fail(error)
