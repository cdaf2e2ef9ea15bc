"""Following a node's logs: a follower is woken by the store's subscription.

The stores here poll for other processes' commits only once an hour, so a
follower that gets an event within its wait was woken by the commit itself,
not by a timer; and the received events wake their followers as the
authored log does (a feed's batch and an imported trail alike).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from eventsourcing.persistence import Notification
from eventsourcing.popo import POPOApplicationRecorder

from caseledger.ledger.application import CaseLedger
from caseledger.ledger.held.following import LogTail
from caseledger.ledger.personal.keystore import MemorySubjectKeyStore
from caseledger.ledger.personal.sealing import SubjectKeys
from caseledger.ledger.trail.received import ReceivedEvents
from tests.ledger.trail.trails import deliveries, stored_trail
from tests.samples import LIXIA, food_licence_terms

AN_HOUR = "3600"
WAIT = 30.0  # far longer than a commit takes, far shorter than the poll interval


def _env(path: Path) -> dict[str, str]:
    return {
        "PERSISTENCE_MODULE": "caseledger.ledger.sqlite.subscribing",
        "SQLITE_DBNAME": str(path),
        "SQLITE_POLL_INTERVAL": AN_HOUR,
    }


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[CaseLedger]:
    received = ReceivedEvents(env=_env(tmp_path / "received.sqlite"))
    opened = CaseLedger(
        LIXIA,
        SubjectKeys(MemorySubjectKeyStore()),
        env=_env(tmp_path / "events.sqlite"),
        received=received,
    )
    yield opened
    opened.close()


def _take_one(tail: LogTail) -> list[Notification]:
    return tail.take(1, timeout=WAIT)


def test_a_follower_of_the_authored_log_is_woken_by_a_commit(ledger: CaseLedger) -> None:
    with ledger.held.follow_authored(0) as tail:
        assert tail.take(10, timeout=0.05) == []  # nothing yet: the wait ends empty
        ledger.publish_item(food_licence_terms())
        (first,) = _take_one(tail)
    assert first.id == 1


def test_a_follower_starts_after_its_position(ledger: CaseLedger) -> None:
    received = ledger.received
    assert received is not None
    events = stored_trail()
    received.receive("370102001000", deliveries(events), ledger.known_hashes)
    with ledger.held.follow_received(2) as tail:
        arrived: list[Notification] = []
        while len(arrived) < len(events) - 2:
            batch = tail.take(10, timeout=WAIT)
            assert batch, "the events after the position did not come"
            arrived.extend(batch)
    assert [n.id for n in arrived] == list(range(3, len(events) + 1))


def test_a_follower_of_the_received_events_is_woken_by_a_feed_batch(ledger: CaseLedger) -> None:
    received = ledger.received
    assert received is not None
    events = stored_trail()
    with ledger.held.follow_received(0) as tail:
        received.receive("370102001000", deliveries(events), ledger.known_hashes)
        arrived: list[Notification] = []
        while len(arrived) < len(events):
            batch = tail.take(len(events), timeout=WAIT)
            assert batch, "the stored batch did not wake the follower"
            arrived.extend(batch)
    assert [n.originator_version for n in arrived] == [e.originator_version for e in events]


def test_a_follower_of_the_received_events_is_woken_by_an_imported_trail(
    ledger: CaseLedger,
) -> None:
    events = stored_trail()
    with ledger.held.follow_received(0) as tail:
        assert ledger.held.import_trail("370102001000", events) == len(events)
        batch = tail.take(len(events), timeout=WAIT)
        assert batch, "the imported trail did not wake the follower"
    assert batch[0].originator_id == events[0].originator_id


def test_a_part_given_back_comes_first_and_in_order() -> None:
    recorder = POPOApplicationRecorder()
    tail = LogTail(recorder)
    try:
        ledger_events = stored_trail()
        recorder.insert_events(ledger_events)
        taken: list[Notification] = []
        while len(taken) < len(ledger_events):
            batch = tail.take(len(ledger_events), timeout=WAIT)
            assert batch, "the inserted events did not come"
            taken.extend(batch)
        tail.give_back(taken[2:])
        again = tail.take(100, timeout=WAIT)
        assert [n.id for n in again] == [n.id for n in taken[2:]]
    finally:
        tail.stop()


def test_a_follower_waiting_on_an_idle_log_is_woken_from_another_thread(
    ledger: CaseLedger,
) -> None:
    """The follower blocks in `take` (no loop of its own), and the commit of
    another thread ends the wait."""
    got: list[list[Notification]] = []
    with ledger.held.follow_authored(0) as tail:
        waiting = threading.Thread(target=lambda: got.append(tail.take(10, timeout=WAIT)))
        waiting.start()
        ledger.publish_item(food_licence_terms())
        waiting.join(WAIT + 5)
    assert [n.id for n in got[0]] == [1]


def test_a_store_that_cannot_subscribe_is_refused(tmp_path: Path) -> None:
    from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore

    recorder = SQLiteApplicationRecorder(SQLiteDatastore(str(tmp_path / "plain.sqlite")))
    with pytest.raises(NotImplementedError, match="cannot subscribe"):
        LogTail(recorder)
