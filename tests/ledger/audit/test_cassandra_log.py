"""The Merkle log of a ledger on Cassandra, derived from its notification log."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from caseledger.ledger.application import CaseLedger
from caseledger.ledger.audit import merkle
from caseledger.ledger.audit.cassandra import CassandraMerkleLog
from caseledger.ledger.audit.leaves import event_leaf
from caseledger.ledger.audit.merkle_logs import merkle_log_of
from caseledger.ledger.cassandra.factory import CassandraDatastore
from caseledger.ledger.cassandra.recorders import CassandraApplicationRecorder
from caseledger.ledger.cassandra.schema import MERKLE
from caseledger.ledger.personal.keystore import MemorySubjectKeyStore
from caseledger.ledger.personal.sealing import SubjectKeys
from tests.cassandra_fixtures import (  # noqa: F401
    cassandra_keyspace,
    empty_store,
    session,
    settings,
    store_env,
)
from tests.ledger.audit.test_authored_log import submit
from tests.samples import LIXIA, Clock, food_licence_terms

pytestmark = [pytest.mark.cassandra, pytest.mark.usefixtures("cassandra_keyspace")]

ENV = {"CASSANDRA_TABLE_PREFIX": "merkletest_"}


@pytest.fixture
def ledger() -> Iterator[CaseLedger]:
    empty_store(store_env(**ENV))
    app = CaseLedger(LIXIA, SubjectKeys(MemorySubjectKeyStore()), env=store_env(**ENV))
    app.publish_item(food_licence_terms())
    yield app
    app.close()


def tree_of(ledger: CaseLedger) -> CassandraMerkleLog:
    found = merkle_log_of(ledger.recorder)
    assert isinstance(found, CassandraMerkleLog)
    return found


def leaves(ledger: CaseLedger) -> list[bytes]:
    records = ledger.recorder.select_notifications(start=1, limit=10_000)
    return [event_leaf(r.topic, r.originator_id, r.originator_version, r.state) for r in records]


def test_the_tree_follows_the_log_with_every_event_at_its_position(ledger: CaseLedger) -> None:
    clock = Clock()
    cases = [submit(ledger, clock) for _ in range(5)]
    expected = leaves(ledger)
    log = tree_of(ledger)
    with log.tree() as tree:
        assert tree.size == len(expected)
        for size in range(1, len(expected) + 1):
            assert merkle.root(tree, size) == merkle.root(merkle.LeafList(expected), size)
    position = log.position_of(cases[2].id, 1)
    assert position is not None
    first = ledger.trail(cases[2].id)[0]
    assert expected[position - 1] == merkle.leaf_hash(bytes.fromhex(first.hash))


def test_rows_written_without_their_size_are_written_again_the_same(ledger: CaseLedger) -> None:
    clock = Clock()
    submit(ledger, clock)
    log = tree_of(ledger)
    with log.tree() as tree:
        before = merkle.root(tree, tree.size)
    # A crash after the rows, before the size that makes them visible.
    table = settings(store_env(**ENV)).table(MERKLE)
    session().write(f"DELETE FROM {table} WHERE key = 'size'")
    again = CassandraMerkleLog(datastore(ledger))
    with again.tree() as tree:
        assert tree.size == len(leaves(ledger))
        assert merkle.root(tree, tree.size) == before


def datastore(ledger: CaseLedger) -> CassandraDatastore:
    recorder = ledger.recorder
    assert isinstance(recorder, CassandraApplicationRecorder)
    return recorder.datastore
