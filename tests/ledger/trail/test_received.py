"""Received events: stored once with their position, and never without verifying."""

from __future__ import annotations

import dataclasses
import json
from typing import cast

import pytest
from eventsourcing.persistence import StoredEvent

from caseledger.ledger.case.events import CaseEvent
from caseledger.ledger.case.stages import Command
from caseledger.ledger.trail.canonical import digest
from caseledger.ledger.trail.received import Delivery, KnownHashes, ReceivedEvents, TrailBroken
from tests.ledger.case.case_paths import follow
from tests.samples import Clock

POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}


def stored_trail(steps: int = 3, opinion: str = "同意") -> list[StoredEvent]:
    """A case's events as a source node stores them."""
    clock = Clock()
    case = follow(clock, (Command.ACCEPT,))
    for _ in range(steps):
        case.record_step(clock.ctx(), "审查", "李四", opinion, "pass")
    source = ReceivedEvents(env=POPO)  # any application's mapper encodes the same way
    return [source.mapper.to_stored_event(event) for event in case.collect_events()]


@pytest.fixture
def received() -> ReceivedEvents:
    return ReceivedEvents(env=POPO)


def deliveries(events: list[StoredEvent], first_position: int = 1) -> list[Delivery]:
    return [Delivery(first_position + i, e) for i, e in enumerate(events)]


def tampered(event: StoredEvent) -> StoredEvent:
    state = json.loads(event.state)
    state["payload"]["opinion"] = "不同意"
    return dataclasses.replace(event, state=json.dumps(state).encode())


def test_a_batch_is_stored_with_its_position(received: ReceivedEvents) -> None:
    events = stored_trail()
    assert received.receive("A", deliveries(events), KnownHashes([received])) == len(events)
    assert received.position("A") == len(events)


def test_a_redelivered_batch_changes_nothing(received: ReceivedEvents) -> None:
    events = stored_trail()
    known = KnownHashes([received])
    received.receive("A", deliveries(events), known)
    assert received.receive("A", deliveries(events), known) == 0
    assert received.position("A") == len(events)


def test_a_tampered_event_is_refused_and_nothing_of_its_batch_is_stored(
    received: ReceivedEvents,
) -> None:
    events = stored_trail()
    events[2] = tampered(events[2])
    with pytest.raises(TrailBroken, match="hash does not match"):
        received.receive("A", deliveries(events), KnownHashes([received]))
    assert received.position("A") == 0
    assert not received.stored(events[0].originator_id)  # type: ignore[arg-type]


def test_events_arriving_before_their_predecessor_are_linked_when_it_comes(
    received: ReceivedEvents,
) -> None:
    events = stored_trail()
    known = KnownHashes([received])
    received.receive("B", deliveries(events[3:]), known)  # the later part, by another path
    received.receive("A", deliveries(events[:3]), known)
    assert len(received.stored(events[0].originator_id)) == len(events)  # type: ignore[arg-type]


def test_a_predecessor_that_does_not_match_its_successor_is_refused(
    received: ReceivedEvents,
) -> None:
    genuine = stored_trail()
    known = KnownHashes([received])
    received.receive("B", deliveries(genuine[3:]), known)
    # A rewritten history of the same case: every event hashes correctly by
    # itself, but event 3 is not the one event 4 was chained to.
    rewritten = rehashed_with_other_opinion(genuine[:3])
    with pytest.raises(TrailBroken, match="does not match the event after it"):
        received.receive("A", deliveries(rewritten), known)


def rehashed_with_other_opinion(events: list[StoredEvent]) -> list[StoredEvent]:
    """Events 1-3 with event 3's opinion changed and its hash recomputed: a
    self-consistent forgery of the past."""
    mapper = ReceivedEvents(env=POPO).mapper
    decoded = [cast(CaseEvent, mapper.to_domain_event(e)) for e in events]
    last = decoded[-1]
    forged_payload = {**last.payload, "opinion": "不同意"}
    forged = dataclasses.replace(last, payload=forged_payload, hash="")
    forged = dataclasses.replace(forged, hash=digest(forged.hashed_form()))
    return [*events[:-1], mapper.to_stored_event(forged)]
