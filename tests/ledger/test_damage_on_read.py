"""Reading a case whose stored events cannot make one whole trail: TrailDamaged,
naming the version and the damage, never a shorter trail or an unhandled error."""

from __future__ import annotations

import dataclasses
import json
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from caseledger.ledger.application import CaseLedger
from caseledger.ledger.errors import TrailDamaged
from caseledger.ledger.personal.keystore import MemorySubjectKeyStore
from caseledger.ledger.personal.sealing import SubjectKeys
from caseledger.ledger.trail.canonical import GENESIS
from caseledger.ledger.trail.received import ReceivedEvents
from tests.ledger.trail.trails import POPO, hash_of, relinked, stored_trail
from tests.samples import LIXIA


@pytest.fixture
def ledger() -> CaseLedger:
    return CaseLedger(
        LIXIA, SubjectKeys(MemorySubjectKeyStore()), env=POPO, received=ReceivedEvents(env=POPO)
    )


def receive(ledger: CaseLedger, events: list[StoredEvent]) -> UUID:
    assert ledger.received is not None
    ledger.received.recorder.insert_events(events)
    return UUID(str(events[0].originator_id))


def damage(ledger: CaseLedger, case_id: UUID) -> TrailDamaged:
    with pytest.raises(TrailDamaged) as trail:
        ledger.trail(case_id)
    with pytest.raises(TrailDamaged) as case:
        ledger.case(case_id)
    assert (trail.value.version, trail.value.damage) == (case.value.version, case.value.damage)
    return trail.value


def test_a_whole_trail_reads_as_it_was_stored(ledger: CaseLedger) -> None:
    events = stored_trail()
    case_id = receive(ledger, events)
    assert [e.hash for e in ledger.trail(case_id)] == [hash_of(e) for e in events]


def test_a_missing_middle_version_is_damage_at_that_version(ledger: CaseLedger) -> None:
    events = stored_trail()
    case_id = receive(ledger, events[:2] + events[3:])
    found = damage(ledger, case_id)
    assert (found.case, found.version, found.damage) == (str(case_id), 3, TrailDamaged.MISSING)


def test_a_missing_first_version_is_damage_not_an_unknown_case(ledger: CaseLedger) -> None:
    case_id = receive(ledger, stored_trail()[1:])
    assert (damage(ledger, case_id).version, damage(ledger, case_id).damage) == (
        1,
        TrailDamaged.MISSING,
    )


def test_an_event_that_does_not_decode_is_damage_at_its_version(ledger: CaseLedger) -> None:
    events = stored_trail()
    events[1] = dataclasses.replace(events[1], state=b"\xff not json")
    found = damage(ledger, receive(ledger, events))
    assert (found.version, found.damage) == (2, TrailDamaged.UNREADABLE)


def test_an_event_that_verifies_but_does_not_apply_is_damage(ledger: CaseLedger) -> None:
    accepted = dataclasses.replace(stored_trail()[1], originator_version=1)
    case_id = receive(ledger, [relinked(accepted, GENESIS)])  # a case that begins accepted
    with pytest.raises(TrailDamaged) as found:
        ledger.case(case_id)
    assert (found.value.version, found.value.damage) == (1, TrailDamaged.UNREADABLE)
    assert "does not apply" in found.value.reason


def test_two_stored_copies_of_a_version_that_differ_are_a_conflict(ledger: CaseLedger) -> None:
    events = stored_trail()
    ledger.recorder.insert_events(events)  # as if authored here
    state = json.loads(events[2].state)
    state["payload"]["opinion"] = "不同意"
    changed = dataclasses.replace(events[2], state=json.dumps(state).encode())
    other = relinked(changed, hash_of(events[1]))  # another event 3, hashed and chained
    case_id = receive(ledger, [other])
    found = damage(ledger, case_id)
    assert (found.version, found.damage) == (3, TrailDamaged.CONFLICT)
    assert (found.held_hash, found.other_hash) == (hash_of(events[2]), hash_of(other))
