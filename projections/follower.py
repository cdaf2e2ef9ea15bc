"""Running a projection: one subscription per upstream log, from its tracked position.

Each upstream (the node's authored log, its received events) is followed
with `subscribe(gt=position)` on its recorder — the library's in-memory
recorders, the subscribing SQLite recorders (`ledger.sqlite.subscribing`)
or the Cassandra module — and processed in batches: whatever arrived while
the last batch was written goes into the next, up to `batch_size`. A
batch and its position are one transaction, so stopping or crashing
anywhere resumes exactly where the view says it is.

Two threads per upstream: one drains the subscription into a queue (the
subscription's iterator blocks when the log is idle), one writes batches
from it. A failure stops the follower and stays in `error`, for health.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Mapping

from eventsourcing.persistence import ApplicationRecorder, Notification, Subscription

from caseledger.projections.projection import CaseProjection

__all__ = ["Follower"]


class Follower:
    """Follows every upstream of one projection until stopped."""

    def __init__(
        self,
        projection: CaseProjection,
        upstreams: Mapping[str, ApplicationRecorder],
        batch_size: int = 500,
    ) -> None:
        self._projection = projection
        self._upstreams = dict(upstreams)
        self._batch_size = batch_size
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._subscriptions: list[Subscription[ApplicationRecorder]] = []
        self._lock = threading.Lock()
        self.error: BaseException | None = None

    def start(self) -> None:
        for name, recorder in self._upstreams.items():
            position = self._projection.view.position(name)
            subscription = recorder.subscribe(gt=position)
            self._subscriptions.append(subscription)
            arrived: queue.Queue[Notification] = queue.Queue(maxsize=10 * self._batch_size)
            for target, label in (
                (lambda s=subscription, q=arrived: self._drain(s, q), "drain"),
                (lambda n=name, q=arrived: self._write(n, q), "write"),
            ):
                thread = threading.Thread(
                    target=target, name=f"projection-{name}-{label}", daemon=True
                )
                self._threads.append(thread)
                thread.start()

    def stop(self) -> None:
        self._stopping.set()
        for subscription in self._subscriptions:
            subscription.stop()
        for thread in self._threads:
            thread.join(timeout=10)

    def wait(self, upstream: str, position: int, timeout: float = 10.0) -> None:
        """Block until `upstream` is processed up to `position` (TimeoutError)."""
        self._projection.view.wait(upstream, position or None, timeout=timeout)

    def _fail(self, error: BaseException) -> None:
        with self._lock:
            if self.error is None:
                self.error = error
        self._stopping.set()
        for subscription in self._subscriptions:
            subscription.stop()

    def _drain(
        self,
        subscription: Subscription[ApplicationRecorder],
        arrived: queue.Queue[Notification],
    ) -> None:
        try:
            with subscription:
                for notification in subscription:
                    while not self._stopping.is_set():
                        try:
                            arrived.put(notification, timeout=0.1)
                            break
                        except queue.Full:
                            continue
        except BaseException as error:
            self._fail(error)
        finally:
            self._stopping.set()

    def _write(self, upstream: str, arrived: queue.Queue[Notification]) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    batch = [arrived.get(timeout=0.1)]
                except queue.Empty:
                    continue
                while len(batch) < self._batch_size:
                    try:
                        batch.append(arrived.get_nowait())
                    except queue.Empty:
                        break
                self._projection.process(upstream, batch)
        except BaseException as error:
            self._fail(error)
