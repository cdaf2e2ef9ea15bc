"""The real Cassandra node the Cassandra tests use, and a clean store per test.

`CASELEDGER_CASSANDRA` (host:port) names the node that `python
docker/services.py start cassandra` started; tests/run sets it. Without it,
or when the node does not answer, every Cassandra test fails with a message
saying so: these tests never skip.

Each test session creates its own keyspace once (so two sessions on one
node never meet) and drops it at the end (modules ask for that with the
`cassandra_keyspace` fixture); each test starts from empty tables
(truncated, which is cheap with `auto_snapshot: false`).

A whole node on Cassandra (`node_env`) gets a keyspace of the session per
division code, since a node's stores share its keyspace by table prefix;
`empty_node` empties every store of it, and those keyspaces are dropped
with the session's.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import pytest
from eventsourcing.persistence import PersistenceError
from eventsourcing.utils import Environment

from caseledger.ledger.cassandra.factory import (
    CassandraApplicationRecorder,
    CassandraFactory,
    CassandraProcessRecorder,
)
from caseledger.ledger.cassandra.schema import (
    ALL_TABLES,
    STREAMS,
    create_tables,
    keyspace_cql,
    log_tables_cql,
    stream_table_cql,
    tracking_table_cql,
    truncate_cql,
)
from caseledger.ledger.cassandra.session import SESSIONS, CqlSession
from caseledger.ledger.cassandra.settings import CassandraSettings

ADDRESS = "CASELEDGER_CASSANDRA"
MODULE = "caseledger.ledger.cassandra"
HOW_TO_START = (
    "start the node with `python docker/services.py start cassandra` and export "
    f"{ADDRESS}=127.0.0.1:9042 (tests/run does both)"
)

# A node's stores, by table prefix: its authored events, received events,
# and the Kafka publisher's positions (caseledger.nodes.config).
NODE_STORES = ("", "received_", "published_")

_lock = threading.Lock()
_session: list[CqlSession] = []
_node_keyspaces: set[str] = set()


def address() -> str:
    value = os.environ.get(ADDRESS, "").strip()
    if not value:
        pytest.fail(f"{ADDRESS} is not set: {HOW_TO_START}", pytrace=False)
    return value


def keyspace() -> str:
    """This session's keyspace: created on first use, dropped at exit."""
    return f"caseledger_test_{os.getpid()}"


def store_env(prefix: str = "", **extra: str) -> dict[str, str]:
    """Settings of a test store; lease times are short so takeovers are quick."""
    session()
    env = {
        "PERSISTENCE_MODULE": MODULE,
        "CASSANDRA_CONTACT_POINTS": address(),
        "CASSANDRA_KEYSPACE": keyspace(),
        "CASSANDRA_TABLE_PREFIX": prefix,
        "CASSANDRA_LEASE_SECONDS": "2",
        "CASSANDRA_LEASE_WAIT": "1",
        "CASSANDRA_LOG_BUCKET_SIZE": "1000",
    }
    env.update(extra)
    return env


def node_env(code: str) -> dict[str, str]:
    """`NodeConfig.extra_env` of node `code` on Cassandra: its keyspace of this
    session, and short leases (the table prefix stays the node's own)."""
    env = store_env(CASSANDRA_KEYSPACE=f"{keyspace()}_{code}")
    del env["PERSISTENCE_MODULE"], env["CASSANDRA_TABLE_PREFIX"]
    with _lock:
        _node_keyspaces.add(env["CASSANDRA_KEYSPACE"])
    return env


def empty_node(code: str) -> None:
    """Create node `code`'s keyspace and tables if needed, then empty every store of it
    (a lease left by a node of an earlier test goes too)."""
    env = node_env(code)
    session().schema(keyspace_cql(settings(env)))
    for prefix in NODE_STORES:
        empty_store({**env, "CASSANDRA_TABLE_PREFIX": prefix})


def settings(env: Mapping[str, str]) -> CassandraSettings:
    return CassandraSettings.from_env(Environment(env=dict(env)))


def session() -> CqlSession:
    """A session of the test process, with this session's keyspace in place."""
    with _lock:
        if not _session:
            config = settings(
                {"CASSANDRA_CONTACT_POINTS": address(), "CASSANDRA_KEYSPACE": keyspace()}
            )
            failure = ""
            try:
                opened = SESSIONS.acquire(config)
                opened.schema(keyspace_cql(config))
            except PersistenceError as error:
                failure = f"Cassandra at {address()} does not answer ({error}): {HOW_TO_START}"
            if failure:
                pytest.fail(failure, pytrace=False)
            _session.append(opened)
        return _session[0]


@pytest.fixture(scope="session")
def cassandra_keyspace() -> Iterator[str]:
    """This session's keyspace, dropped when the session ends."""
    session()
    yield keyspace()
    with _lock:
        if not _session:
            return
        opened = _session.pop()
        dropped = [*sorted(_node_keyspaces), keyspace()]
        _node_keyspaces.clear()
    try:
        for name in dropped:
            opened.schema(f"DROP KEYSPACE IF EXISTS {name}")
    finally:
        SESSIONS.release(opened)


def empty_store(env: Mapping[str, str]) -> None:
    """Create the store's tables if needed, then empty them."""
    config = settings(env)
    cql = session()
    create_tables(
        cql,
        [
            stream_table_cql(config, STREAMS),
            *log_tables_cql(config),
            tracking_table_cql(config),
        ],
    )
    for statement in truncate_cql(config, ALL_TABLES):
        cql.schema(statement)


@contextmanager
def opened(env: Mapping[str, str]) -> Iterator[CassandraFactory]:
    """A factory on the store of `env`, closed (its lease given back) afterwards."""
    factory = CassandraFactory(dict(env))
    try:
        yield factory
    finally:
        factory.close()


def application(factory: CassandraFactory) -> CassandraApplicationRecorder:
    recorder = factory.application_recorder()
    assert isinstance(recorder, CassandraApplicationRecorder)
    return recorder


def process(factory: CassandraFactory) -> CassandraProcessRecorder:
    recorder = factory.process_recorder()
    assert isinstance(recorder, CassandraProcessRecorder)
    return recorder
