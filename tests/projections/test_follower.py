"""The follower: both logs of a node followed by subscription into its views.

The node's stores are the subscribing SQLite module's, as a node would run
them; the views are a SQLite file of their own. Events are appended while
the follower runs, and again after it was stopped: it resumes from the
positions its views recorded.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import Notification, Tracking

from caseledger.ledger.case.events import CaseEvent
from caseledger.ledger.sqlite.subscribing import SubscribingSQLiteFactory
from caseledger.projections.follower import Follower
from caseledger.projections.projection import AUTHORED, RECEIVED, CaseProjection
from caseledger.projections.store import CaseViews
from caseledger.projections.trails import HeldTrails
from tests.projections.histories import START, case_mapper, simulate
from tests.projections.stores import expected_rows, view_rows

MAPPER = case_mapper()
NODE = "370102000000"
NETWORK = ["370100000000", NODE, "370102001000"]


class Node:
    def __init__(self, folder: Path) -> None:
        env = {"SQLITE_POLL_INTERVAL": "30", "SQLITE_LOCK_TIMEOUT": "10"}
        self.factories = [
            SubscribingSQLiteFactory({**env, "SQLITE_DBNAME": str(folder / name)})
            for name in ("events.sqlite", "received.sqlite")
        ]
        self.authored: Any = self.factories[0].application_recorder()
        self.received: Any = self.factories[1].process_recorder()
        self.sent = 0

    def append(self, events: list[CaseEvent]) -> None:
        for event in events:
            stored = MAPPER.to_stored_event(event)
            if event.node == NODE:
                self.authored.insert_events([stored])
            else:
                self.sent += 1
                self.received.insert_events([stored], tracking=Tracking("source", self.sent))

    def follower(
        self, views: CaseViews, projection_class: type[CaseProjection] = CaseProjection
    ) -> Follower:
        trails = HeldTrails([self.authored, self.received], MAPPER)
        projection = projection_class(views, trails, MAPPER)
        return Follower(projection, {AUTHORED: self.authored, RECEIVED: self.received}, 7)

    def wait_caught_up(self, follower: Follower) -> None:
        for name, recorder in ((AUTHORED, self.authored), (RECEIVED, self.received)):
            follower.wait(name, recorder.max_notification_id() or 0, timeout=20)
        assert follower.error is None

    def close(self) -> None:
        for factory in self.factories:
            factory.close()


def test_the_follower_keeps_the_views_up_with_both_logs_and_resumes(tmp_path: Path) -> None:
    events = simulate(random.Random(2), NETWORK, 16, START)
    first, rest = events[: len(events) // 2], events[len(events) // 2 :]
    node = Node(tmp_path)
    views = CaseViews.open(str(tmp_path / "views.sqlite"))
    try:
        follower = node.follower(views)
        follower.start()
        node.append(first)  # woken by these commits, not by the 30 s poll
        node.wait_caught_up(follower)
        assert view_rows(views) == expected_rows(first)
        follower.stop()

        node.append(rest)
        resumed = node.follower(views)
        resumed.start()
        node.wait_caught_up(resumed)
        resumed.stop()
        assert view_rows(views) == expected_rows(events)
    finally:
        views.close()
        node.close()


DISK_FULL = RuntimeError("the view's disk is full")


class FailingProjection(CaseProjection):
    def process(self, upstream: str, notifications: Sequence[Notification]) -> int:
        raise DISK_FULL


def test_a_failing_projection_stops_the_follower_and_keeps_its_error(tmp_path: Path) -> None:
    node = Node(tmp_path)
    views = CaseViews.open(str(tmp_path / "views.sqlite"))
    try:
        follower = node.follower(views, FailingProjection)
        follower.start()
        node.append(simulate(random.Random(3), [NODE], 1, START))
        with pytest.raises(TimeoutError):
            follower.wait(AUTHORED, 1, timeout=2)
        assert follower.error is DISK_FULL
        follower.stop()
    finally:
        views.close()
        node.close()
