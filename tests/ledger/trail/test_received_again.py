"""Events a node holds already, arriving again by a feed or a handoff, are stored
once: only what is missing is written, and a feed's position still advances."""

from __future__ import annotations

import pytest

from caseledger.ledger.trail.received import KnownHashes, ReceivedEvents
from tests.ledger.trail.trails import POPO, deliveries, stored_trail


@pytest.fixture
def received() -> ReceivedEvents:
    return ReceivedEvents(env=POPO)


def test_an_empty_batch_stores_nothing(received: ReceivedEvents) -> None:
    assert received.receive("A", [], KnownHashes([received])) == 0
    assert received.position("A") == 0


def test_a_batch_at_new_positions_stores_only_the_events_not_held(
    received: ReceivedEvents,
) -> None:
    events = stored_trail()
    known = KnownHashes([received])
    received.receive("A", deliveries(events[:3]), known)
    # Sent again at new positions (a publisher that re-sent them), with two new ones.
    again = deliveries(events, first_position=4)
    assert received.receive("A", again, known) == len(events) - 3
    assert received.position("A") == again[-1].position
    assert len(received.stored(events[0].originator_id)) == len(events)  # type: ignore[arg-type]


def test_a_batch_of_events_all_held_advances_the_position_and_stores_nothing(
    received: ReceivedEvents,
) -> None:
    events = stored_trail()
    known = KnownHashes([received])
    received.receive("A", deliveries(events), known)
    again = deliveries(events, first_position=len(events) + 1)
    assert received.receive("A", again, known) == 0
    assert received.position("A") == again[-1].position
    assert len(received.stored(events[0].originator_id)) == len(events)  # type: ignore[arg-type]


def test_a_handed_over_trail_stores_only_the_events_the_node_lacks(
    received: ReceivedEvents,
) -> None:
    events = stored_trail()
    known = KnownHashes([received])
    received.receive("A", deliveries(events[:3]), known)
    assert received.accept_trail("B", events, known) == len(events) - 3
    assert len(received.stored(events[0].originator_id)) == len(events)  # type: ignore[arg-type]


def test_a_handed_over_trail_that_a_feed_stored_in_part_meanwhile_stores_the_rest(
    received: ReceivedEvents,
) -> None:
    events = stored_trail()
    received.receive("A", deliveries(events[:3]), KnownHashes([received]))
    unaware = KnownHashes([])  # knows nothing of what the feed stored
    assert received.accept_trail("B", events, unaware) == len(events) - 3
    assert len(received.stored(events[0].originator_id)) == len(events)  # type: ignore[arg-type]
