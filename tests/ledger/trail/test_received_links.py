"""Every received case event must follow the event before it, wherever that one is:
genesis for the first, the one before it in its batch, the one this node
remembers storing, or the one its stores hold. An event that verifies by
itself but is chained to anything else is refused, with its whole batch."""

from __future__ import annotations

from uuid import uuid4

import pytest
from eventsourcing.persistence import StoredEvent

from caseledger.ledger.trail.canonical import GENESIS
from caseledger.ledger.trail.received import KnownHashes, ReceivedEvents, TrailBroken
from tests.ledger.trail.trails import (
    POPO,
    catalogue_event,
    deliveries,
    hash_of,
    relinked,
    stored_trail,
)

NOT_GENESIS = "f" * 64


@pytest.fixture
def received() -> ReceivedEvents:
    return ReceivedEvents(env=POPO)


def test_a_first_event_not_chained_to_genesis_is_refused(received: ReceivedEvents) -> None:
    first = relinked(stored_trail()[0], NOT_GENESIS)
    with pytest.raises(TrailBroken, match="does not follow the event before it"):
        received.receive("A", deliveries([first]), KnownHashes([received]))
    assert received.position("A") == 0


def test_an_event_not_chained_to_the_one_before_it_in_its_batch_is_refused(
    received: ReceivedEvents,
) -> None:
    events = stored_trail()[:4]
    events[3] = relinked(events[3], GENESIS)
    with pytest.raises(TrailBroken, match="does not follow the event before it"):
        received.receive("A", deliveries(events), KnownHashes([received]))
    assert not received.stored(events[0].originator_id)  # type: ignore[arg-type]


def test_an_event_chained_past_the_stored_one_before_it_is_refused(
    received: ReceivedEvents,
) -> None:
    events = stored_trail()
    received.receive("A", deliveries(events[:3]), KnownHashes([received]))
    # Event 4 chained to event 2: as if event 3 had been dropped from history.
    forged = relinked(events[3], hash_of(events[1]))
    after_restart = KnownHashes([received])  # remembers nothing: the store must answer
    with pytest.raises(TrailBroken, match="does not follow the event before it"):
        received.receive("A", deliveries([forged], first_position=4), after_restart)
    assert received.position("A") == 3


def test_an_event_chained_past_the_remembered_one_before_it_is_refused(
    received: ReceivedEvents,
) -> None:
    events = stored_trail()
    memory_only = KnownHashes([])  # no store to look in: what it remembers must answer
    received.receive("A", deliveries(events[:3]), memory_only)
    forged = relinked(events[3], hash_of(events[1]))
    with pytest.raises(TrailBroken, match="does not follow the event before it"):
        received.receive("A", deliveries([forged], first_position=4), memory_only)
    assert received.position("A") == 3


def test_an_event_chained_to_a_later_hash_than_the_one_before_it_is_refused(
    received: ReceivedEvents,
) -> None:
    events = stored_trail()
    received.receive("A", deliveries(events[:3]), KnownHashes([received]))
    forged = relinked(events[3], NOT_GENESIS)  # no hash sorts after it
    with pytest.raises(TrailBroken, match="does not follow the event before it"):
        received.receive("A", deliveries([forged], first_position=4), KnownHashes([received]))


def test_case_events_after_another_aggregate_s_event_in_a_batch_are_still_checked(
    received: ReceivedEvents,
) -> None:
    events = stored_trail()[:3]
    events[2] = relinked(events[2], GENESIS)
    with pytest.raises(TrailBroken, match="does not follow the event before it"):
        received.receive("A", deliveries([catalogue_event(), *events]), KnownHashes([received]))
    assert received.position("A") == 0


def test_an_event_that_cannot_be_read_is_refused_as_a_broken_trail(
    received: ReceivedEvents,
) -> None:
    unknown = StoredEvent(uuid4(), 1, "caseledger.NoSuchEvent", b"{}")
    with pytest.raises(TrailBroken):
        received.receive("A", deliveries([unknown]), KnownHashes([received]))
    assert received.position("A") == 0


def test_an_event_chained_to_the_stored_one_before_it_is_taken(
    received: ReceivedEvents,
) -> None:
    events = stored_trail()
    received.receive("A", deliveries(events[:2]), KnownHashes([received]))
    stored = received.receive("A", deliveries(events[2:], first_position=3), KnownHashes([]))
    assert stored == len(events) - 2
    assert len(received.stored(events[0].originator_id)) == len(events)  # type: ignore[arg-type]
