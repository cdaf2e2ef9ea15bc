"""A node's two event stores in memory, filled as its logs would be, and its views.

The authored log holds what the node itself appended; the received store
everything else it holds (replicated from below, or imported when a case
was handed to it). A commit puts an event in its store; a delivery hands
the next committed notifications of one log to the projection. Commits
always run ahead of deliveries, as in a node, where a follower reads what
is already durable.

The views are kept by either store (`ViewStore`): SQLite, in memory or in
a file, or PostgreSQL, a fresh schema of the server `CASELEDGER_POSTGRES`
names (a DSN; `tests/run` starts it), dropped afterwards. The `views_store`
fixture (conftest.py) runs a test once on each; the PostgreSQL run carries
the `postgres` marker, and fails when no server answers.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import Mapper, Notification, Tracking
from eventsourcing.popo import POPOApplicationRecorder, POPOProcessRecorder

from caseledger.ledger.case.events import CaseEvent
from caseledger.projections.facts import fold_all
from caseledger.projections.postgres_store import PostgresCaseViews
from caseledger.projections.projection import AUTHORED, RECEIVED, CaseProjection
from caseledger.projections.store import CaseViews
from caseledger.projections.trails import HeldTrails

POSTGRES_ENV = "CASELEDGER_POSTGRES"
HOW_TO_START = (
    "start the server with `python docker/services.py start postgres` and export "
    f"{POSTGRES_ENV}=postgresql://caseledger@127.0.0.1:5432/caseledger (tests/run does both)"
)


def postgres_dsn() -> str:
    """The test server's DSN; a test that needs it fails without it."""
    dsn = os.environ.get(POSTGRES_ENV, "").strip()
    if not dsn:
        pytest.fail(f"{POSTGRES_ENV} is not set: {HOW_TO_START}", pytrace=False)
    return dsn


class ViewStore:
    """Fresh views of one kind (`sqlite` or `postgres`), each private to its caller.

    Everything opened is closed, and every PostgreSQL schema dropped, when
    the fixture ends, or when a `with store:` block (one Hypothesis example)
    ends.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._opened: list[CaseViews] = []
        self._schemas: list[str] = []

    def fresh(self) -> CaseViews:
        """New, empty views."""
        if self.kind == "sqlite":
            return self._keep(CaseViews.open(f"file:views-{uuid4().hex}?mode=memory&cache=shared"))
        return self.open(*self.location(Path()))

    def location(self, folder: Path) -> tuple[str, str]:
        """Where new views can be opened, closed and opened again: (location, schema)."""
        if self.kind == "sqlite":
            return str(folder / f"views-{uuid4().hex}.sqlite"), ""
        schema = f"test_{uuid4().hex[:16]}"
        self._schemas.append(schema)
        return postgres_dsn(), schema

    def open(self, location: str, schema: str) -> CaseViews:
        try:
            return self._keep(CaseViews.open(location, schema))
        except Exception as error:
            if self.kind == "postgres":
                pytest.fail(f"no PostgreSQL at {location}: {error}; {HOW_TO_START}", pytrace=False)
            raise

    def _keep(self, views: CaseViews) -> CaseViews:
        self._opened.append(views)
        return views

    def close_all(self) -> None:
        for views in self._opened:
            views.close()
        for schema in self._schemas:
            dropped = CaseViews.open(postgres_dsn(), schema)
            assert isinstance(dropped, PostgresCaseViews)
            dropped.drop()
            dropped.close()
        self._opened.clear()
        self._schemas.clear()

    def __enter__(self) -> ViewStore:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close_all()


def memory_views() -> CaseViews:
    """A fresh SQLite view database, in memory and private to this call."""
    return CaseViews.open(f"file:views-{uuid4().hex}?mode=memory&cache=shared")


class NodeStores:
    """The two stores of one node and the events still to commit to each."""

    def __init__(self, node: str, events: Sequence[CaseEvent], mapper: Mapper[UUID]) -> None:
        self.mapper = mapper
        self.authored = POPOApplicationRecorder()
        self.received = POPOProcessRecorder()
        self.pending: dict[str, list[CaseEvent]] = {
            AUTHORED: [e for e in events if e.node == node],
            RECEIVED: [e for e in events if e.node != node],
        }
        self.committed: dict[str, int] = {AUTHORED: 0, RECEIVED: 0}
        self.delivered: dict[str, int] = {AUTHORED: 0, RECEIVED: 0}

    def recorder(self, log: str) -> POPOApplicationRecorder:
        return self.authored if log == AUTHORED else self.received

    def can_commit(self, log: str) -> bool:
        return self.committed[log] < len(self.pending[log])

    def commit(self, log: str) -> None:
        event = self.pending[log][self.committed[log]]
        stored = self.mapper.to_stored_event(event)
        if log == AUTHORED:
            self.authored.insert_events([stored])
        else:
            # The intake writes received events with the source's position.
            self.received.insert_events(
                [stored], tracking=Tracking("source", self.committed[log] + 1)
            )
        self.committed[log] += 1

    def commit_all(self) -> None:
        for log in (AUTHORED, RECEIVED):
            while self.can_commit(log):
                self.commit(log)

    def undelivered(self, log: str, most: int) -> list[Notification]:
        """Up to `most` committed notifications of `log` not yet delivered."""
        start = self.delivered[log]
        count = min(most, self.committed[log] - start)
        if count <= 0:
            return []
        return list(self.recorder(log).select_notifications(start + 1, count))

    def deliver(self, projection: CaseProjection, log: str, most: int) -> None:
        batch = self.undelivered(log, most)
        if batch:
            projection.process(log, batch)
            self.delivered[log] = batch[-1].id

    def projection(self, views: CaseViews) -> CaseProjection:
        trails = HeldTrails([self.authored, self.received], self.mapper)
        return CaseProjection(views, trails, self.mapper)


def expected_rows(events: Sequence[CaseEvent]) -> dict[str, str]:
    """Each case's facts folded straight from its whole trail, as JSON text."""
    by_case: dict[str, list[CaseEvent]] = {}
    for event in events:
        by_case.setdefault(str(event.originator_id), []).append(event)
    out = {}
    for case_id, trail in by_case.items():
        trail.sort(key=lambda e: e.originator_version)
        out[case_id] = fold_all(case_id, trail).to_json()
    return {k: json.dumps(v, ensure_ascii=False, separators=(",", ":")) for k, v in out.items()}


def view_rows(views: CaseViews) -> dict[str, str]:
    return {case_id: facts for case_id, _, _, facts in views.all_rows()}


def project_all(
    node: str, events: Sequence[CaseEvent], mapper: Mapper[UUID], store: ViewStore | None = None
) -> CaseViews:
    """The views of `node` after both its logs were committed and delivered in full
    (in `store`, by default SQLite in memory)."""
    stores = NodeStores(node, events, mapper)
    projection = stores.projection((store or ViewStore("sqlite")).fresh())
    stores.commit_all()
    for log in (AUTHORED, RECEIVED):
        stores.deliver(projection, log, 100_000)
    return projection.view
