"""Every received case event must follow the event before it, wherever that one is:
genesis for the first, the one before it in its batch, the one this node
remembers storing, or the one its stores hold. An event that verifies by
itself but is chained to anything else is refused, with its whole batch."""

from __future__ import annotations

import pytest

from caseledger.ledger.trail.canonical import GENESIS
from caseledger.ledger.trail.received import KnownHashes, ReceivedEvents, TrailBroken
from tests.ledger.trail.trails import POPO, deliveries, relinked, stored_trail

NOT_GENESIS = "f" * 64


@pytest.fixture
def received() -> ReceivedEvents:
    return ReceivedEvents(env=POPO)


def test_a_first_event_not_chained_to_genesis_is_refused(received: ReceivedEvents) -> None:
    events = stored_trail()
    events[0] = relinked(events[0], NOT_GENESIS)
    with pytest.raises(TrailBroken, match="does not follow the event before it"):
        received.receive("A", deliveries(events), KnownHashes([received]))
    assert received.position("A") == 0


def test_an_event_not_chained_to_the_one_before_it_in_its_batch_is_refused(
    received: ReceivedEvents,
) -> None:
    events = stored_trail()
    events[2] = relinked(events[2], GENESIS)
    with pytest.raises(TrailBroken, match="does not follow the event before it"):
        received.receive("A", deliveries(events), KnownHashes([received]))
    assert not received.stored(events[0].originator_id)  # type: ignore[arg-type]


def test_an_event_not_chained_to_the_stored_one_before_it_is_refused(
    received: ReceivedEvents,
) -> None:
    events = stored_trail()
    received.receive("A", deliveries(events[:2]), KnownHashes([received]))
    forged = relinked(events[2], GENESIS)
    after_restart = KnownHashes([received])  # remembers nothing: the store must answer
    with pytest.raises(TrailBroken, match="does not follow the event before it"):
        received.receive("A", deliveries([forged], first_position=3), after_restart)
    assert received.position("A") == 2


def test_an_event_not_chained_to_the_remembered_one_before_it_is_refused(
    received: ReceivedEvents,
) -> None:
    events = stored_trail()
    memory_only = KnownHashes([])  # no store to look in: what it remembers must answer
    received.receive("A", deliveries(events[:2]), memory_only)
    forged = relinked(events[2], GENESIS)
    with pytest.raises(TrailBroken, match="does not follow the event before it"):
        received.receive("A", deliveries([forged], first_position=3), memory_only)
    assert received.position("A") == 2


def test_an_event_chained_to_the_stored_one_before_it_is_taken(
    received: ReceivedEvents,
) -> None:
    events = stored_trail()
    received.receive("A", deliveries(events[:2]), KnownHashes([received]))
    stored = received.receive("A", deliveries(events[2:], first_position=3), KnownHashes([]))
    assert stored == len(events) - 2
    assert len(received.stored(events[0].originator_id)) == len(events)  # type: ignore[arg-type]
