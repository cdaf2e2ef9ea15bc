"""Fixtures of the Cassandra cluster tests: the members a test may take down, and
the keyspaces of this session, dropped at its end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from eventsourcing.utils import Environment

from caseledger.ledger.cassandra.session import SESSIONS
from caseledger.ledger.cassandra.settings import CassandraSettings
from caseledger.nodes.config import CASSANDRA_ENV
from tests.clusters.cassandra import cluster

_used: list[str] = []


@pytest.fixture
def members() -> Iterator[cluster.Members]:
    """Members to kill; each one killed is started again, whatever the test did."""
    taken = cluster.Members()
    try:
        yield taken
    finally:
        taken.restore()


@pytest.fixture
def on_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stores named by the test's own settings: CASELEDGER_CASSANDRA (the single
    node, which tests/run exports too) would replace a node's contact points."""
    cluster.contact_points()
    monkeypatch.delenv(CASSANDRA_ENV, raising=False)


@pytest.fixture(scope="session")
def cluster_keyspaces() -> Iterator[list[str]]:
    """Names the tests' keyspaces go into; dropped when the session ends."""
    yield _used
    if not _used:
        return
    env = cluster.node_env(_used[0])
    session = SESSIONS.acquire(CassandraSettings.from_env(Environment(env=env)))
    try:
        for name in _used:
            session.schema(f"DROP KEYSPACE IF EXISTS {name}")
    finally:
        SESSIONS.release(session)
