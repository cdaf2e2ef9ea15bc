"""A case's stored events, and forgeries of them, for the received-events tests."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import cast

from eventsourcing.persistence import StoredEvent

from caseledger.ledger.case.events import CaseEvent
from caseledger.ledger.case.stages import Command
from caseledger.ledger.catalogue import Item
from caseledger.ledger.trail.canonical import digest
from caseledger.ledger.trail.received import Delivery, ReceivedEvents
from tests.ledger.case.case_paths import follow
from tests.samples import LIXIA, Clock, food_licence_terms

POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}


def stored_trail(steps: int = 3, start: datetime | None = None) -> list[StoredEvent]:
    """A case's events as its node stores them: submitted, accepted, then `steps`
    steps, a minute apart from `start` (by default a day in 2026)."""
    clock = Clock() if start is None else Clock(start)
    case = follow(clock, (Command.ACCEPT,))
    for _ in range(steps):
        case.record_step(clock.ctx(), "审查", "李四", "同意", "pass")
    mapper = ReceivedEvents(env=POPO).mapper  # any application's mapper encodes the same way
    return [mapper.to_stored_event(event) for event in case.collect_events()]


def deliveries(events: list[StoredEvent], first_position: int = 1) -> list[Delivery]:
    return [Delivery(first_position + i, e) for i, e in enumerate(events)]


def relinked(event: StoredEvent, prev_hash: str) -> StoredEvent:
    """`event` chained to `prev_hash` instead, and hashed again: it verifies by
    itself, but follows another event than the one it followed."""
    mapper = ReceivedEvents(env=POPO).mapper
    decoded = cast(CaseEvent, mapper.to_domain_event(event))
    forged = dataclasses.replace(decoded, prev_hash=prev_hash, hash="")
    forged = dataclasses.replace(forged, hash=digest(forged.hashed_form()))
    return mapper.to_stored_event(forged)


def hash_of(event: StoredEvent) -> str:
    return cast(CaseEvent, ReceivedEvents(env=POPO).mapper.to_domain_event(event)).hash


def catalogue_event() -> StoredEvent:
    """An event of another aggregate than a case (an item published to the catalogue)."""
    (published,) = Item.publish(LIXIA, food_licence_terms()).collect_events()
    return ReceivedEvents(env=POPO).mapper.to_stored_event(published)
