"""A node witnessing a descendant's log: what it cosigns, keeps pending,
refuses, and keeps as evidence of a fork."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from caseledger.ledger.audit import merkle
from caseledger.ledger.audit.checkpoint import (
    BadNote,
    Checkpoint,
    open_note,
    origin_of,
    public_bytes,
)
from caseledger.ledger.audit.cosignature import cosign, verify_cosignature
from caseledger.ledger.audit.identity import Identity
from caseledger.ledger.audit.witness import Verdict, Witness, pin_line
from caseledger.ledger.audit.witness_store import WitnessStore

CHILD = "370102001000"
PARENT = "370102000000"
CLOCK = 1_780_000_000.0


def leaves(tag: str, count: int) -> list[bytes]:
    return [merkle.leaf_hash(hashlib.sha256(f"{tag}{n}".encode()).digest()) for n in range(count)]


def held(values: list[bytes], start: int = 1) -> list[tuple[int, bytes]]:
    return [(start + n, leaf) for n, leaf in enumerate(values)]


@pytest.fixture
def child() -> Identity:
    return Identity(origin_of(CHILD), Ed25519PrivateKey.generate())


@pytest.fixture
def witness(tmp_path: Path) -> Witness:
    parent = Identity(origin_of(PARENT), Ed25519PrivateKey.generate())
    return Witness(WitnessStore(str(tmp_path / "w.sqlite")), parent, clock=lambda: CLOCK)


def note_of(child: Identity, values: list[bytes], size: int) -> str:
    return child.sign(Checkpoint(child.name, size, merkle.root(merkle.LeafList(values), size)))


def test_a_checkpoint_matching_the_events_held_is_cosigned_and_kept(
    witness: Witness, child: Identity
) -> None:
    log = leaves("a", 5)
    witness.hold(CHILD, held(log))
    outcome = witness.check(CHILD, note_of(child, log, 5), child.public)
    assert outcome.verdict is Verdict.WITNESSED
    kept = witness.store.witnessed(CHILD)
    assert kept is not None
    assert kept.size == 5
    open_note(kept.note, child.name, child.public)  # the descendant's signature stays
    cosignature = verify_cosignature(kept.note, witness.identity.name, witness.identity.public)
    assert cosignature.timestamp == int(CLOCK)


def test_a_cosignature_signs_the_cosignature_v1_message_with_its_own_key_id(
    child: Identity,
) -> None:
    witness_key = Ed25519PrivateKey.generate()
    note = note_of(child, leaves("a", 2), 2)
    cosigned = cosign(note, "witness.example", witness_key, 7)
    with pytest.raises(BadNote):
        verify_cosignature(cosigned, "witness.example", child.public)
    tampered = cosigned.replace("\n2\n", "\n3\n", 1)
    with pytest.raises(BadNote):
        verify_cosignature(tampered, "witness.example", public_bytes(witness_key.public_key()))


def test_a_checkpoint_beyond_the_events_held_waits_for_them(
    witness: Witness, child: Identity
) -> None:
    log = leaves("a", 6)
    witness.hold(CHILD, held(log[:3]))
    assert witness.check(CHILD, note_of(child, log, 6), child.public).verdict is Verdict.PENDING
    assert witness.store.witnessed(CHILD) is None
    # Out of order, as a Kafka feed delivers them: the gap at 4 holds the tree.
    assert witness.hold(CHILD, held(log[4:], start=5)) == []
    (outcome,) = witness.hold(CHILD, held(log[3:4], start=4))
    assert outcome.verdict is Verdict.WITNESSED
    assert outcome.size == 6


def test_a_rewritten_history_is_a_fork_kept_with_both_notes_and_never_cosigned(
    witness: Witness, child: Identity
) -> None:
    log = leaves("a", 4)
    witness.hold(CHILD, held(log))
    first = note_of(child, log, 4)
    assert witness.check(CHILD, first, child.public).verdict is Verdict.WITNESSED
    forged = leaves("b", 4) + leaves("c", 2)  # positions 1..4 rewritten, then 5..6
    witness.hold(CHILD, held(forged[4:], start=5))
    lie = note_of(child, forged, 6)
    outcome = witness.check(CHILD, lie, child.public)
    assert outcome.verdict is Verdict.FORKED
    assert outcome.fork is not None
    (fork,) = witness.store.forks(CHILD)
    assert fork.conflicting_note == lie
    assert open_note(fork.accepted_note, child.name, child.public)
    kept = witness.store.witnessed(CHILD)
    assert kept is not None
    assert kept.size == 4
    # The same lie again is refused, and kept once.
    assert witness.check(CHILD, lie, child.public).verdict is Verdict.FORKED
    assert len(witness.store.forks(CHILD)) == 1


def test_a_position_received_twice_with_different_events_is_a_fork(witness: Witness) -> None:
    witness.hold(CHILD, held(leaves("a", 3)))
    (outcome,) = witness.hold(CHILD, held(leaves("b", 1), start=2))
    assert outcome.verdict is Verdict.FORKED
    assert "position 2" in witness.store.forks(CHILD)[0].detail


def test_a_note_signed_by_another_key_is_refused_not_taken_for_a_fork(
    witness: Witness, child: Identity
) -> None:
    log = leaves("a", 2)
    witness.hold(CHILD, held(log))
    impostor = Identity(child.name, Ed25519PrivateKey.generate())
    outcome = witness.check(CHILD, note_of(impostor, log, 2), child.public)
    assert outcome.verdict is Verdict.REFUSED
    assert witness.store.forks() == []
    assert witness.store.witnessed(CHILD) is None


def test_an_older_consistent_checkpoint_is_known_and_changes_nothing(
    witness: Witness, child: Identity
) -> None:
    log = leaves("a", 5)
    witness.hold(CHILD, held(log))
    witness.check(CHILD, note_of(child, log, 5), child.public)
    assert witness.check(CHILD, note_of(child, log, 3), child.public).verdict is Verdict.KNOWN
    kept = witness.store.witnessed(CHILD)
    assert kept is not None
    assert kept.size == 5


def test_the_witness_pins_each_witnessed_checkpoint_in_its_own_checkpoints(
    witness: Witness, child: Identity
) -> None:
    log = leaves("a", 3)
    witness.hold(CHILD, held(log))
    witness.check(CHILD, note_of(child, log, 3), child.public)
    kept = witness.store.witnessed(CHILD)
    assert kept is not None
    (line,) = witness.pins()
    assert line == pin_line(kept)
    assert line.startswith(f"witnessed {origin_of(CHILD)} 3 ")
    own = Checkpoint(witness.identity.name, 0, merkle.EMPTY_ROOT, witness.pins())
    assert Checkpoint.parse(own.text()) == own
