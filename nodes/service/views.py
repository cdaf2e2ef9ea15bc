"""A node's views: opened beside its stores, followed from its two logs, watched.

The node keeps its views in `<code>.views.sqlite` in its data folder, or
in its schema of a PostgreSQL database when its configuration names one
(docs/projections.md, docs/reporting-schema.md), and one `Follower` runs the `cases` projection over
its authored log and its received events, from the positions the views
recorded. What the node shows of them:

- health: `caseledger.projections` is SERVING while the follower runs and
  NOT_SERVING once it stops or fails (or when the store's recorders cannot
  subscribe, so there is nothing to follow with); the node itself goes on
  serving, and its reports answer from what the views hold;
- the metric `caseledger_projection_lag_events{view,upstream}`: how many
  positions of each log the view has still to process;
- `status()`: the position reached and the log's head, per upstream.

A rebuild (`rebuild`) follows both logs from position 0 into a second
database (or schema) while the first keeps answering; once the new one has caught up
with the heads, the two are swapped under the readers' lock, so a report
never reads a half-built view.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial

import structlog
from eventsourcing.persistence import ApplicationRecorder, PersistenceError

from caseledger.ledger.application import CaseLedger
from caseledger.ledger.timelimits.calendar import WorkingCalendar
from caseledger.nodes.metrics import Metrics
from caseledger.projections import (
    AUTHORED,
    RECEIVED,
    CaseProjection,
    CaseViews,
    Follower,
    HeldTrails,
    Reports,
)
from caseledger.projections.location import ViewsLocation

__all__ = ["PROJECTIONS_HEALTH", "NodeViews", "Rebuild", "Upstream", "ViewsUnavailable"]

_log = structlog.get_logger("caseledger.nodes.views")

PROJECTIONS_HEALTH = "caseledger.projections"
"""The health service that is NOT_SERVING while the node's views are not being followed."""

VIEW = CaseProjection.name


class ViewsUnavailable(Exception):
    """The node keeps no views: its store's recorders cannot be followed."""


@dataclass(frozen=True)
class Upstream:
    """Where a view stands in one of the node's logs."""

    view: str
    name: str
    position: int
    head: int

    @property
    def lag(self) -> int:
        return max(0, self.head - self.position)


@dataclass
class Rebuild:
    """A rebuild in progress or done: positions processed of those to process."""

    total: int = 0
    processed: int = 0
    done: bool = False
    error: str = ""
    started: float = field(default_factory=time.monotonic)


class NodeViews:
    """The views of one node, their follower, and their health."""

    def __init__(
        self,
        location: ViewsLocation,
        ledger: CaseLedger,
        calendar: WorkingCalendar,
        metrics: Metrics,
        health: Callable[[bool], None],
    ) -> None:
        assert ledger.received is not None
        self._location = location
        self._ledger = ledger
        self._calendar = calendar
        self._health = health
        self._upstreams: dict[str, ApplicationRecorder] = {
            AUTHORED: ledger.recorder,
            RECEIVED: ledger.received.recorder,
        }
        self._trails = HeldTrails(list(self._upstreams.values()), ledger.mapper)
        # Readers share the views; a swap after a rebuild waits for them and keeps
        # new readers out while the files change places.
        self._readers = 0
        self._swapping = False
        self._turn = threading.Condition()
        self._views: CaseViews | None = None
        self._follower: Follower | None = None
        self._reports: Reports | None = None
        self.rebuilding: Rebuild | None = None
        self._rebuild_thread: threading.Thread | None = None
        self._stopping = threading.Event()
        for upstream in self._upstreams:
            metrics.projection_lag.labels(view=VIEW, upstream=upstream).set_function(
                partial(self._lag, upstream)
            )

    # -- running -------------------------------------------------------------------

    def start(self) -> None:
        """Open the views and follow both logs; without subscribing recorders the
        node runs without views and says so in health and in its log."""
        try:
            self._views = self._location.open()
        except PersistenceError as error:
            # The node does not start without its views' database: say which one.
            raise type(error)(f"the views at {self._location}: {error}") from error
        _log.info("views opened", at=str(self._location))
        self._reports = Reports(self._views, self._ledger.node, self._calendar)
        follower = self._follower_of(self._views)
        try:
            follower.start()
        except NotImplementedError as error:
            _log.warning("views not followed: the store cannot subscribe", error=str(error))
            self._health(False)
            return
        self._follow(follower)

    def _follower_of(self, views: CaseViews) -> Follower:
        projection = CaseProjection(views, self._trails, self._ledger.mapper)
        return Follower(projection, self._upstreams)

    def _follow(self, follower: Follower) -> None:
        self._follower = follower
        follower.observe(self._stopped)
        self._health(True)

    def _stopped(self, follower: Follower) -> None:
        if follower is not self._follower:
            return  # the follower a rebuild replaced
        if follower.error is not None:
            _log.error("projection follower failed", error=repr(follower.error))
        self._health(False)

    def stop(self) -> None:
        self._stopping.set()
        if self._rebuild_thread is not None:
            self._rebuild_thread.join(timeout=10)
        with self._exclusive():
            if self._follower is not None:
                self._follower.stop()
            if self._views is not None:
                self._views.close()
                self._views = None

    @property
    def follower(self) -> Follower | None:
        return self._follower

    # -- reading ---------------------------------------------------------------------

    @contextmanager
    def reading(self) -> Iterator[Reports]:
        """The node's `Reports`, held still for the length of one read."""
        with self._held() as views:
            reports = self._reports
            if views is None or reports is None:
                raise ViewsUnavailable("this node keeps no views")
            yield reports

    @contextmanager
    def _held(self) -> Iterator[CaseViews | None]:
        """The views as they are (None: not open), not closed or swapped while held."""
        with self._turn:
            while self._swapping:
                self._turn.wait()
            self._readers += 1
            views = self._views
        try:
            yield views
        finally:
            with self._turn:
                self._readers -= 1
                self._turn.notify_all()

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        with self._turn:
            while self._swapping:
                self._turn.wait()
            self._swapping = True
            while self._readers:
                self._turn.wait()
        try:
            yield
        finally:
            with self._turn:
                self._swapping = False
                self._turn.notify_all()

    def status(self) -> list[Upstream]:
        """Per upstream: the position the views reached and the log's head."""
        with self._held() as views:
            return [
                Upstream(
                    VIEW,
                    name,
                    views.position(name) if views is not None else 0,
                    recorder.max_notification_id() or 0,
                )
                for name, recorder in self._upstreams.items()
            ]

    @property
    def running(self) -> bool:
        return self._follower is not None and self._follower.running

    @property
    def error(self) -> str:
        follower = self._follower
        return "" if follower is None or follower.error is None else repr(follower.error)

    def _lag(self, upstream: str) -> float:
        with self._held() as views:
            if views is None:
                return 0.0
            head = self._upstreams[upstream].max_notification_id() or 0
            return float(max(0, head - views.position(upstream)))

    # -- rebuilding ------------------------------------------------------------------

    def rebuild(self) -> Rebuild:
        """Start rebuilding the views from position 0 beside the current ones (or
        return the rebuild already running). Raises ViewsUnavailable on a node
        without views."""
        with self._turn:
            if self._follower is None:
                raise ViewsUnavailable("this node keeps no views")
            running = self.rebuilding
            if running is not None and not running.done:
                return running
            self.rebuilding = Rebuild()
            thread = threading.Thread(
                target=self._rebuild, args=(self.rebuilding,), name="views-rebuild", daemon=True
            )
            self._rebuild_thread = thread
        thread.start()
        return self.rebuilding

    def _rebuild(self, progress: Rebuild) -> None:
        fresh_location = self._location.beside()
        fresh = fresh_location.open()
        follower = self._follower_of(fresh)
        try:
            heads = {name: r.max_notification_id() or 0 for name, r in self._upstreams.items()}
            progress.total = sum(heads.values())
            follower.start()
            # Caught up with the heads as they were when the rebuild began, then
            # with the heads at the swap itself, so the new view answers no less.
            while not self._stopping.is_set():
                if follower.error is not None:
                    raise follower.error
                progress.processed = sum(fresh.position(name) for name in heads)
                heads = {name: r.max_notification_id() or 0 for name, r in self._upstreams.items()}
                progress.total = max(progress.total, sum(heads.values()))
                if all(fresh.position(name) >= head for name, head in heads.items()):
                    break
                time.sleep(0.05)
            else:
                raise InterruptedError("the node stopped during the rebuild")
            follower.stop()
            fresh.close()
            self._swap(fresh_location)
            progress.processed = progress.total
            _log.info("views rebuilt", events=progress.total)
        except BaseException as error:
            follower.stop()
            fresh.close()
            fresh_location.remove()
            progress.error = repr(error)
            _log.error("views rebuild failed", error=repr(error))
        finally:
            progress.done = True

    def _swap(self, fresh: ViewsLocation) -> None:
        with self._exclusive():
            old = self._follower
            self._follower = None  # its stop is the swap's, not a failure
            if old is not None:
                old.stop()
            if self._views is not None:
                self._views.close()
            try:
                self._location.take_over(fresh)
            finally:
                # Whatever the move did, the node goes on following the views in
                # place (empty, at worst, which the follower fills again).
                self._views = self._location.open()
                self._reports = Reports(self._views, self._ledger.node, self._calendar)
                follower = self._follower_of(self._views)
                follower.start()
                self._follow(follower)
