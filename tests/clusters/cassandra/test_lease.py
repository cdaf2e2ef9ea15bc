"""The writer lease and its fencing epoch of a node's log hold across a Cassandra
member's restart.

With a member down the lease's lightweight transactions still have their
quorum: the writer keeps its lease (renewed past its time to live) and a
second process is refused. A successor that takes over while member 3 is
down leaves its epoch on members 1 and 2 only; once 3 is back and 2 is
killed instead, the quorum is members 1 and 3, and the old writer's next
append is still refused: the successor's epoch reached the quorum, not
just the members that saw it written.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from uuid import uuid4

import pytest
from eventsourcing.persistence import OperationalError, StoredEvent

from caseledger.ledger.cassandra.factory import CassandraApplicationRecorder, CassandraFactory
from caseledger.ledger.cassandra.lease import LeaseHeld, WriterFenced
from caseledger.ledger.cassandra.session import OutcomeUnknown
from tests.clusters.cassandra import cluster
from tests.timing import scaled

pytestmark = [pytest.mark.cassandra_cluster, pytest.mark.usefixtures("on_cluster")]

# Renewed every third of it: a renewal or two lost to the loaded cluster's
# timeouts does not let the lease lapse.
_LEASE_SECONDS = 10
# How long a call is sent again while the loaded cluster times out (a member
# just died and the failure detector has not said so yet).
_SETTLE_S = 90.0


def event() -> StoredEvent:
    return StoredEvent(uuid4(), 1, "topic", b"{}")


def appended(recorder: CassandraApplicationRecorder, stored: StoredEvent) -> list[int]:
    """Append, sending again while the outcome is unknown (a timeout): the
    writer settles a lost answer itself, so the event is in the log once."""
    deadline = time.monotonic() + scaled(_SETTLE_S)
    while True:
        try:
            return list(recorder.insert_events([stored]) or [])
        except OutcomeUnknown:
            if time.monotonic() > deadline:
                raise
        with contextlib.suppress(OperationalError):
            logged = [n.originator_id for n in recorder.select_notifications(1, 100)]
            if stored.originator_id in logged:
                return [1 + logged.index(stored.originator_id)]


def refused(recorder: CassandraApplicationRecorder, stored: StoredEvent) -> WriterFenced:
    """The fenced writer's append: refused, never applied; timeouts on the way
    (each makes it repair, then find itself fenced) are sent again."""
    deadline = time.monotonic() + scaled(_SETTLE_S)
    while True:
        try:
            recorder.insert_events([stored])
        except WriterFenced as fenced:
            return fenced
        except OperationalError:
            if time.monotonic() > deadline:
                raise
            continue
        raise AssertionError("a fenced writer's append was applied")


def assert_lease_held(env: dict[str, str]) -> None:
    """A second writer is refused (LeaseHeld); one whose look at the lease timed
    out (OutcomeUnknown, the loaded cluster) asks again, and never gets it."""
    deadline = time.monotonic() + scaled(_SETTLE_S)
    while True:
        try:
            with writer(env):
                pass
        except LeaseHeld:
            return
        except OutcomeUnknown:
            if time.monotonic() > deadline:
                raise
            continue
        raise AssertionError("a second writer got the lease while the first held it")


@contextmanager
def writer(env: dict[str, str]) -> Iterator[CassandraApplicationRecorder]:
    factory = CassandraFactory(env)
    try:
        recorder = factory.application_recorder()
        assert isinstance(recorder, CassandraApplicationRecorder)
        yield recorder
    finally:
        factory.close()


def test_the_writer_lease_and_fencing_hold_across_a_member_restart(
    members: cluster.Members, cluster_keyspaces: list[str]
) -> None:
    keyspace = cluster.keyspace("lease")
    cluster_keyspaces.append(keyspace)
    env = {
        **cluster.node_env(keyspace),
        "PERSISTENCE_MODULE": "caseledger.ledger.cassandra",
        "CASSANDRA_LEASE_SECONDS": str(_LEASE_SECONDS),
        "CASSANDRA_LEASE_WAIT": "2",
        "CASSANDRA_LOG_BUCKET_SIZE": "4",
    }
    with writer(env) as stale:
        assert appended(stale, event()) == [1]
        members.kill(3)
        # Renewed past its time to live with one member down: still held.
        time.sleep(_LEASE_SECONDS * 2)
        assert_lease_held(env)
        assert appended(stale, event()) == [2]

        # As if it had stalled past its lease: the lease is free, the writer lives on.
        stale.writer.close()
        with writer(env) as successor:
            assert appended(successor, event()) == [3]
            members.start(3)
            members.kill(2)
            late = event()
            refused(stale, late)
            assert appended(successor, event()) == [4]
            members.start(2)
            assert successor.select_events(late.originator_id) == []
            assert [n.id for n in successor.select_notifications(1, 100)] == [1, 2, 3, 4]
            assert_lease_held(env)
