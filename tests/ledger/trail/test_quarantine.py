"""Received events with a quarantine: a case that breaks is held apart with its
evidence, and the rest of its batch is stored with the batch's position."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from caseledger.ledger.trail.quarantine import Entry, Quarantine, Reason
from caseledger.ledger.trail.received import Delivery, KnownHashes, ReceivedEvents
from tests.ledger.trail.trails import POPO, hash_of, relinked, stored_trail

SOURCE = "370102001000"


@pytest.fixture
def received() -> ReceivedEvents:
    return ReceivedEvents(env=POPO, quarantine=Quarantine())


def quarantine_of(received: ReceivedEvents) -> Quarantine:
    assert received.quarantine is not None
    return received.quarantine


def interleaved(*trails: list[StoredEvent], first_position: int = 1) -> list[Delivery]:
    """The events of several cases as one source's log holds them: by turns."""
    events = [e for row in zip(*trails, strict=True) for e in row]
    return [Delivery(first_position + i, e) for i, e in enumerate(events)]


def case_of(events: list[StoredEvent]) -> UUID:
    return UUID(str(events[0].originator_id))


def tampered(event: StoredEvent) -> StoredEvent:
    state = json.loads(event.state)
    state["payload"]["opinion"] = "不同意"
    return dataclasses.replace(event, state=json.dumps(state).encode())


def test_a_broken_case_is_quarantined_and_the_other_cases_of_the_batch_are_stored(
    received: ReceivedEvents,
) -> None:
    good, bad = stored_trail(), stored_trail()
    bad[2] = tampered(bad[2])
    batch = interleaved(good, bad)

    stored = received.receive(SOURCE, batch, KnownHashes([received]))

    assert stored == len(good) + 2  # all of the good case, the bad one up to its break
    assert received.position(SOURCE) == batch[-1].position
    assert len(received.stored(case_of(good))) == len(good)
    assert len(received.stored(case_of(bad))) == 2
    (entry,) = quarantine_of(received).entries()
    assert (entry.case, entry.source, entry.version) == (str(case_of(bad)), SOURCE, 3)
    assert entry.reason is Reason.HASH_MISMATCH
    assert entry.held_events == len(bad) - 2  # the broken event and every later one


def test_later_events_of_a_quarantined_case_are_held_in_later_batches(
    received: ReceivedEvents,
) -> None:
    bad = stored_trail()
    bad[1] = tampered(bad[1])
    known = KnownHashes([received])
    received.receive(SOURCE, [Delivery(1, e) for e in bad[:2]], known)

    received.receive(SOURCE, [Delivery(3 + i, e) for i, e in enumerate(bad[2:])], known)

    assert len(received.stored(case_of(bad))) == 1
    (entry,) = quarantine_of(received).entries()
    assert entry.held_events == len(bad) - 1
    assert received.position(SOURCE) == len(bad)


def test_another_copy_of_a_held_version_is_a_conflict_with_both_hashes(
    received: ReceivedEvents,
) -> None:
    genuine = stored_trail()
    known = KnownHashes([received])
    received.receive(SOURCE, [Delivery(i + 1, e) for i, e in enumerate(genuine)], known)
    other = relinked(tampered(genuine[2]), hash_of(genuine[1]))  # another event 3 after event 2

    stored = received.receive(SOURCE, [Delivery(len(genuine) + 1, other)], known)

    assert stored == 0
    (entry,) = quarantine_of(received).entries()
    assert (entry.version, entry.reason) == (3, Reason.CONFLICT)
    assert (entry.held_hash, entry.received_hash) == (hash_of(genuine[2]), hash_of(other))
    assert hash_of(received.stored(case_of(genuine))[2]) == hash_of(genuine[2])  # kept


def test_a_copy_that_differs_from_the_authored_one_is_a_conflict_at_receipt(
    received: ReceivedEvents,
) -> None:
    authored = ReceivedEvents(env=POPO)  # stands for the node's authored store
    genuine = stored_trail()
    authored.recorder.insert_events(genuine)
    other = relinked(tampered(genuine[0]), "0" * 64)  # another event 1

    received.receive(SOURCE, [Delivery(1, other)], KnownHashes([authored, received]))

    (entry,) = quarantine_of(received).entries()
    assert (entry.version, entry.reason) == (1, Reason.CONFLICT)
    assert (entry.held_hash, entry.received_hash) == (hash_of(genuine[0]), hash_of(other))
    assert received.stored(case_of(genuine)) == []


def test_an_event_that_does_not_follow_the_held_one_names_both_hashes(
    received: ReceivedEvents,
) -> None:
    genuine = stored_trail()
    known = KnownHashes([received])
    received.receive(SOURCE, [Delivery(1, e) for e in genuine[:2]], known)
    forged = relinked(genuine[2], "f" * 64)

    received.receive(SOURCE, [Delivery(3, forged)], known)

    (entry,) = quarantine_of(received).entries()
    assert (entry.version, entry.reason) == (3, Reason.BROKEN_LINK)
    assert (entry.held_hash, entry.received_hash) == (hash_of(genuine[1]), "f" * 64)


def test_a_version_below_one_is_refused() -> None:
    received = ReceivedEvents(env=POPO, quarantine=Quarantine())
    event = dataclasses.replace(stored_trail()[0], originator_version=0)
    received.receive(SOURCE, [Delivery(1, event)], KnownHashes([received]))
    (entry,) = quarantine_of(received).entries()
    assert (entry.version, entry.reason) == (0, Reason.UNREADABLE)


# -- the quarantine's own store ------------------------------------------------------


def entry(version: int = 3, reason: Reason = Reason.CONFLICT) -> Entry:
    return Entry(
        case="c",
        source=SOURCE,
        version=version,
        reason=reason,
        detail="why",
        held_hash="a" * 64,
        received_hash="b" * 64,
    )


def test_an_entry_recorded_again_keeps_its_first_time_and_tells_no_one() -> None:
    times = iter([datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC)])
    quarantine = Quarantine(clock=lambda: next(times))
    seen: list[Entry] = []
    quarantine.observe(seen.append)

    assert quarantine.record(entry()) is True
    assert quarantine.record(entry()) is False

    (kept,) = quarantine.entries()
    assert kept.first_seen == datetime(2026, 3, 2, tzinfo=UTC)
    assert [e.version for e in seen] == [3]
    assert quarantine.holds("c")


def test_entries_and_held_events_outlive_a_restart(tmp_path: Path) -> None:
    path = str(tmp_path / "quarantine.sqlite")
    quarantine = Quarantine(path)
    quarantine.record(entry())
    quarantine.hold(SOURCE, 7, StoredEvent("c", 3, "caseledger.case.StepRecorded", b"{}"))
    quarantine.close()

    again = Quarantine(path)
    assert again.holds("c")
    (kept,) = again.entries()
    assert kept.held_events == 1
    assert again.held("c") == [(SOURCE, 7, 3, "caseledger.case.StepRecorded", b"{}")]


def test_a_log_gap_quarantines_no_case() -> None:
    quarantine = Quarantine()
    quarantine.record(dataclasses.replace(entry(reason=Reason.LOG_GAP), case=""))
    assert not quarantine.holds("")
    assert [e.reason for e in quarantine.entries()] == [Reason.LOG_GAP]
