"""Following a node's logs on the Cassandra store: the same one mechanism, the
Cassandra recorders' subscriptions (woken by the process's own appends)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from eventsourcing.persistence import Notification

from caseledger.ledger.application import CaseLedger
from caseledger.ledger.personal.keystore import MemorySubjectKeyStore
from caseledger.ledger.personal.sealing import SubjectKeys
from caseledger.ledger.trail.received import ReceivedEvents
from tests.cassandra_fixtures import cassandra_keyspace, empty_store, store_env  # noqa: F401
from tests.ledger.trail.trails import deliveries, stored_trail
from tests.samples import LIXIA, food_licence_terms

pytestmark = [pytest.mark.cassandra, pytest.mark.usefixtures("cassandra_keyspace")]

WAIT = 30.0
AUTHORED = {"CASSANDRA_TABLE_PREFIX": "followtest_"}
RECEIVED = {"CASSANDRA_TABLE_PREFIX": "followtest_received_"}


@pytest.fixture
def ledger() -> Iterator[CaseLedger]:
    for prefix in (AUTHORED, RECEIVED):
        empty_store(store_env(**prefix))
    opened = CaseLedger(
        LIXIA,
        SubjectKeys(MemorySubjectKeyStore()),
        env=store_env(**AUTHORED),
        received=ReceivedEvents(env=store_env(**RECEIVED)),
    )
    yield opened
    opened.close()


def test_a_follower_of_the_authored_log_gets_each_commit(ledger: CaseLedger) -> None:
    with ledger.held.follow_authored(0) as tail:
        ledger.publish_item(food_licence_terms())
        (first,) = tail.take(1, timeout=WAIT)
    assert first.id == 1


def test_a_follower_of_the_received_events_gets_a_stored_batch(ledger: CaseLedger) -> None:
    received = ledger.received
    assert received is not None
    events = stored_trail()
    with ledger.held.follow_received(0) as tail:
        received.receive("370102001000", deliveries(events), ledger.known_hashes)
        arrived: list[Notification] = []
        while len(arrived) < len(events):
            batch = tail.take(len(events), timeout=WAIT)
            assert batch, "the stored batch did not reach the follower"
            arrived.extend(batch)
    assert [n.originator_version for n in arrived] == [e.originator_version for e in events]
