"""KnownHashes: what it remembers is bounded, and the stores answer for the rest."""

from __future__ import annotations

from uuid import uuid4

from caseledger.ledger.trail.received import KnownHashes, ReceivedEvents
from tests.ledger.trail.trails import POPO, deliveries, hash_of, stored_trail


def test_only_the_most_recent_hashes_are_remembered() -> None:
    known = KnownHashes([], remembered=2)
    case = uuid4()
    for version in (1, 2, 3):
        known.remember(case, version, f"h{version}")
    assert [known.hash_of(case, v) for v in (1, 2, 3)] == [None, "h2", "h3"]


def test_only_the_most_recent_awaited_links_are_kept() -> None:
    known = KnownHashes([], remembered=2)
    case = uuid4()
    for version in (1, 2, 3):
        known.await_link(case, version, f"h{version}")
    assert [known.awaited(case, v) for v in (1, 2, 3)] == [None, "h2", "h3"]


def test_a_hash_not_remembered_is_read_from_the_stores() -> None:
    events = stored_trail()
    received = ReceivedEvents(env=POPO)
    received.receive("A", deliveries(events), KnownHashes([received]))
    case = events[0].originator_id
    fresh = KnownHashes([ReceivedEvents(env=POPO), received])  # the second store holds it
    assert [fresh.hash_of(case, v) for v in range(1, len(events) + 1)] == [  # type: ignore[arg-type]
        hash_of(e) for e in events
    ]
    assert fresh.hash_of(case, len(events) + 1) is None  # type: ignore[arg-type]
