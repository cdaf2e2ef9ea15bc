"""The library's own recorder and factory suites, run against a real Cassandra node.

Every test of `eventsourcing.tests.persistence` runs as the library wrote
it, the concurrency and throughput tests included, with no count lowered.
Each test gets empty tables and its own factory, closed afterwards (which
gives the writer lease back, so the next test's writer need not wait).
"""

from __future__ import annotations

from typing import Any

import pytest
from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    InfrastructureFactory,
    ProcessRecorder,
    TrackingRecorder,
)
from eventsourcing.tests.persistence import (
    AggregateRecorderTestCase,
    ApplicationRecorderTestCase,
    InfrastructureFactoryTestCase,
    NonInterleavingNotificationIDsBaseCase,
    ProcessRecorderTestCase,
    TrackingRecorderTestCase,
)
from eventsourcing.utils import Environment

from caseledger.ledger.cassandra.factory import (
    CassandraAggregateRecorder,
    CassandraApplicationRecorder,
    CassandraFactory,
    CassandraProcessRecorder,
    CassandraTrackingRecorder,
)
from tests.cassandra_fixtures import cassandra_keyspace, empty_store, store_env  # noqa: F401

pytestmark = [pytest.mark.cassandra, pytest.mark.usefixtures("cassandra_keyspace")]


class CassandraStore:
    """Empty tables and a fresh factory for each test."""

    factory: CassandraFactory

    def setUp(self) -> None:
        env = store_env()
        empty_store(env)
        self.factory = CassandraFactory(env)
        super().setUp()  # type: ignore[misc]

    def tearDown(self) -> None:
        self.factory.close()
        super().tearDown()  # type: ignore[misc]


class TestCassandraAggregateRecorder(CassandraStore, AggregateRecorderTestCase):
    def create_recorder(self) -> AggregateRecorder:
        return self.factory.aggregate_recorder()


class TestCassandraApplicationRecorder(
    CassandraStore, ApplicationRecorderTestCase[CassandraApplicationRecorder]
):
    def create_recorder(self) -> CassandraApplicationRecorder:
        recorder = self.factory.application_recorder()
        assert isinstance(recorder, CassandraApplicationRecorder)
        return recorder

    def test_insert_subscribe(self) -> None:
        self.optional_test_insert_subscribe()


class TestCassandraNonInterleavingNotificationIds(
    CassandraStore, NonInterleavingNotificationIDsBaseCase
):
    def create_recorder(self) -> ApplicationRecorder:
        return self.factory.application_recorder()


class TestCassandraTrackingRecorder(CassandraStore, TrackingRecorderTestCase):
    def create_recorder(self) -> TrackingRecorder:
        return self.factory.tracking_recorder()


class TestCassandraProcessRecorder(CassandraStore, ProcessRecorderTestCase):
    def create_recorder(self) -> ProcessRecorder:
        return self.factory.process_recorder()


class NamedTrackingRecorder(CassandraTrackingRecorder):
    """A subclass the factory must build when asked for it by class or by topic."""


class TestCassandraInfrastructureFactory(InfrastructureFactoryTestCase[CassandraFactory]):
    def setUp(self) -> None:
        env = store_env()
        empty_store(env)
        self.env = Environment("TestCase")
        self.env.update(env)
        self.env[InfrastructureFactory.PERSISTENCE_MODULE] = CassandraFactory.__module__
        super().setUp()

    def expected_factory_class(self) -> type[CassandraFactory]:
        return CassandraFactory

    def expected_aggregate_recorder_class(self) -> type[AggregateRecorder]:
        return CassandraAggregateRecorder

    def expected_application_recorder_class(self) -> type[ApplicationRecorder]:
        return CassandraApplicationRecorder

    def expected_tracking_recorder_class(self) -> type[TrackingRecorder]:
        return CassandraTrackingRecorder

    def tracking_recorder_subclass(self) -> type[TrackingRecorder]:
        return NamedTrackingRecorder

    def expected_process_recorder_class(self) -> type[ProcessRecorder]:
        return CassandraProcessRecorder


def test_the_factory_is_found_by_module_name() -> None:
    factory: Any = InfrastructureFactory.construct(
        Environment(env={**store_env(), "PERSISTENCE_MODULE": "caseledger.ledger.cassandra"})
    )
    try:
        assert isinstance(factory, CassandraFactory)
    finally:
        factory.close()
