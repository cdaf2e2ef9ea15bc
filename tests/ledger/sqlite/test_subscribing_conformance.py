"""The library's recorder and factory suites, run against the subscribing SQLite module.

Every test of `eventsourcing.tests.persistence` runs as the library wrote
it, its subscribe test included (which the library's own SQLite recorder
cannot pass), on a fresh database file per test.
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path
from typing import Any

from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    InfrastructureFactory,
    ProcessRecorder,
    TrackingRecorder,
)
from eventsourcing.sqlite import SQLiteAggregateRecorder, SQLiteTrackingRecorder
from eventsourcing.tests.persistence import (
    ApplicationRecorderTestCase,
    InfrastructureFactoryTestCase,
    ProcessRecorderTestCase,
    TrackingRecorderTestCase,
)
from eventsourcing.utils import Environment

from caseledger.ledger.sqlite.subscribing import SubscribingSQLiteFactory
from caseledger.ledger.sqlite.subscription import (
    SubscribingSQLiteApplicationRecorder,
    SubscribingSQLiteProcessRecorder,
)

MODULE = "caseledger.ledger.sqlite.subscribing"


class FreshDatabase:
    """A database file of its own for each test, and its factory, closed afterwards.

    The library's concurrency test stops its reader threads without joining
    them; closing the database under a reader still inside SQLite crashes
    the interpreter, so every thread the test started is joined first.
    """

    factory: SubscribingSQLiteFactory

    def setUp(self) -> None:
        self._threads_before = set(threading.enumerate())
        self._folder = tempfile.TemporaryDirectory()
        db = Path(self._folder.name) / "events.sqlite"
        self.factory = SubscribingSQLiteFactory(
            {"SQLITE_DBNAME": str(db), "SQLITE_LOCK_TIMEOUT": "10"}
        )
        super().setUp()  # type: ignore[misc]

    def tearDown(self) -> None:
        for thread in set(threading.enumerate()) - self._threads_before:
            if not thread.daemon:
                thread.join(timeout=10)
        self.factory.close()
        self._folder.cleanup()
        super().tearDown()  # type: ignore[misc]


class TestSubscribingApplicationRecorder(
    FreshDatabase, ApplicationRecorderTestCase[SubscribingSQLiteApplicationRecorder]
):
    def create_recorder(self) -> SubscribingSQLiteApplicationRecorder:
        recorder = self.factory.application_recorder()
        assert isinstance(recorder, SubscribingSQLiteApplicationRecorder)
        return recorder

    def test_insert_subscribe(self) -> None:
        self.optional_test_insert_subscribe()


class TestSubscribingProcessRecorderAsApplicationRecorder(
    FreshDatabase, ApplicationRecorderTestCase[SubscribingSQLiteProcessRecorder]
):
    """A store of received events is followed too: its process recorder subscribes."""

    def create_recorder(self) -> SubscribingSQLiteProcessRecorder:
        recorder = self.factory.process_recorder()
        assert isinstance(recorder, SubscribingSQLiteProcessRecorder)
        return recorder

    def test_insert_subscribe(self) -> None:
        self.optional_test_insert_subscribe()


class TestSubscribingTrackingRecorder(FreshDatabase, TrackingRecorderTestCase):
    def create_recorder(self) -> TrackingRecorder:
        return self.factory.tracking_recorder()


class TestSubscribingProcessRecorder(FreshDatabase, ProcessRecorderTestCase):
    def create_recorder(self) -> ProcessRecorder:
        return self.factory.process_recorder()


class NamedTrackingRecorder(SQLiteTrackingRecorder):
    """A subclass the factory must build when asked for it by class or by topic."""


class TestSubscribingInfrastructureFactory(InfrastructureFactoryTestCase[SubscribingSQLiteFactory]):
    def setUp(self) -> None:
        self._folder = tempfile.TemporaryDirectory()
        self.env = Environment("TestCase")
        self.env[InfrastructureFactory.PERSISTENCE_MODULE] = MODULE
        self.env["SQLITE_DBNAME"] = str(Path(self._folder.name) / "events.sqlite")
        super().setUp()

    def tearDown(self) -> None:
        super().tearDown()
        self._folder.cleanup()

    def expected_factory_class(self) -> type[SubscribingSQLiteFactory]:
        return SubscribingSQLiteFactory

    def expected_aggregate_recorder_class(self) -> type[AggregateRecorder]:
        return SQLiteAggregateRecorder

    def expected_application_recorder_class(self) -> type[ApplicationRecorder]:
        return SubscribingSQLiteApplicationRecorder

    def expected_tracking_recorder_class(self) -> type[TrackingRecorder]:
        return SQLiteTrackingRecorder

    def tracking_recorder_subclass(self) -> type[TrackingRecorder]:
        return NamedTrackingRecorder

    def expected_process_recorder_class(self) -> type[ProcessRecorder]:
        return SubscribingSQLiteProcessRecorder


def test_the_factory_is_found_by_module_name(tmp_path: Path) -> None:
    factory: Any = InfrastructureFactory.construct(
        Environment(env={"PERSISTENCE_MODULE": MODULE, "SQLITE_DBNAME": str(tmp_path / "e.sqlite")})
    )
    try:
        assert type(factory) is SubscribingSQLiteFactory
    finally:
        factory.close()
