"""Key rotations in the log: a witness holding only leaves, and the first key,
follows a rotation signed by the key in force, and refuses one that is not
(signed by the new key alone, by another key, or not the event at its
position)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from caseledger.cli.audit.checkpoint import CheckpointRefused, VerifierKey, verify_note
from caseledger.ledger.application import CaseLedger
from caseledger.ledger.audit.checkpoint import Checkpoint, origin_of, public_bytes, sign_note
from caseledger.ledger.audit.cosignature import verify_cosignature
from caseledger.ledger.audit.identity import Identity
from caseledger.ledger.audit.leaves import event_leaf
from caseledger.ledger.audit.rotation import (
    BadRotation,
    SigningKey,
    key_in_force,
    rotation_line,
)
from caseledger.ledger.audit.witness import Verdict, Witness
from caseledger.ledger.audit.witness_store import WitnessStore
from caseledger.ledger.personal.keystore import MemorySubjectKeyStore
from caseledger.ledger.personal.sealing import SubjectKeys
from tests.samples import LIXIA

NAME = origin_of(LIXIA)
MAPPER = CaseLedger(LIXIA, SubjectKeys(MemorySubjectKeyStore())).mapper


def stored_rotation(old: Ed25519PrivateKey, new: Ed25519PrivateKey) -> tuple[bytes, bytes]:
    """The rotation's state as a store keeps it, and its leaf."""
    (event,) = SigningKey.rotate(LIXIA, NAME, old, new).collect_events()
    stored = MAPPER.to_stored_event(event)
    leaf = event_leaf(stored.topic, stored.originator_id, 1, stored.state)
    return stored.state, leaf


def public(key: Ed25519PrivateKey) -> bytes:
    return public_bytes(key.public_key())


@pytest.fixture
def witness(tmp_path: Path) -> Witness:
    store = WitnessStore(str(tmp_path / "witness.sqlite"))
    return Witness(store, Identity(origin_of("370102000000"), Ed25519PrivateKey.generate()))


def checkpoint_note(leaf: bytes, signer: Ed25519PrivateKey, *lines: str) -> str:
    """A checkpoint of a log of one event (the root of one leaf is the leaf)."""
    checkpoint = Checkpoint(NAME, 1, leaf, lines)
    return sign_note(checkpoint.text(), NAME, signer)


def test_a_rotation_signed_by_the_key_in_force_is_followed(witness: Witness) -> None:
    first, second = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    state, leaf = stored_rotation(first, second)
    witness.hold(LIXIA, [(1, leaf)])
    note = checkpoint_note(leaf, second, rotation_line(1, state))
    assert witness.check(LIXIA, note, public(first)).verdict is Verdict.WITNESSED
    # The auditor's CLI, written apart, follows it too.
    key = VerifierKey(NAME, public(first))
    assert verify_note(note, key).size == 1


def test_a_checkpoint_still_signed_by_the_old_key_after_its_rotation_is_refused(
    witness: Witness,
) -> None:
    first, second = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    state, leaf = stored_rotation(first, second)
    witness.hold(LIXIA, [(1, leaf)])
    note = checkpoint_note(leaf, first, rotation_line(1, state))
    outcome = witness.check(LIXIA, note, public(first))
    assert outcome.verdict is Verdict.REFUSED


def test_a_rotation_not_signed_by_the_key_in_force_is_refused(witness: Witness) -> None:
    first, thief, stolen = (Ed25519PrivateKey.generate() for _ in range(3))
    # Someone without the first key rotates from their own key to another.
    state, leaf = stored_rotation(thief, stolen)
    witness.hold(LIXIA, [(1, leaf)])
    note = checkpoint_note(leaf, stolen, rotation_line(1, state))
    outcome = witness.check(LIXIA, note, public(first))
    assert outcome.verdict is Verdict.REFUSED
    assert "not the key in force" in outcome.detail
    with pytest.raises(BadRotation):
        key_in_force(NAME, public(first), [(1, state)], 1)
    with pytest.raises(CheckpointRefused, match="not from the key in force"):
        verify_note(note, VerifierKey(NAME, public(first)))


def test_a_rotation_that_is_not_the_event_at_its_position_is_refused(witness: Witness) -> None:
    first, second = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    state, _ = stored_rotation(first, second)
    other = event_leaf("caseledger.numbering.CaseNumberClaimed", "0" * 32, 1, b"{}")
    witness.hold(LIXIA, [(1, other)])
    note = checkpoint_note(other, second, rotation_line(1, state))
    outcome = witness.check(LIXIA, note, public(first))
    assert outcome.verdict is Verdict.REFUSED
    assert "not the event received there" in outcome.detail


def test_a_certificate_renewed_for_the_new_key_starts_the_chain_there() -> None:
    first, second, third = (Ed25519PrivateKey.generate() for _ in range(3))
    one, _ = stored_rotation(first, second)
    two, _ = stored_rotation(second, third)
    rotations = [(1, one), (2, two)]
    assert key_in_force(NAME, public(first), rotations, 2) == public(third)
    assert key_in_force(NAME, public(second), rotations, 2) == public(third)
    assert key_in_force(NAME, public(first), rotations, 1) == public(second)


def test_a_witness_that_rotates_cosigns_again_what_it_keeps(witness: Witness) -> None:
    first = Ed25519PrivateKey.generate()
    leaf = event_leaf("caseledger.numbering.CaseNumberClaimed", "0" * 32, 1, b"{}")
    witness.hold(LIXIA, [(1, leaf)])
    assert witness.check(LIXIA, checkpoint_note(leaf, first), public(first)).verdict is (
        Verdict.WITNESSED
    )
    rotated = Identity(witness.identity.name, Ed25519PrivateKey.generate())
    witness.rotated(rotated)
    (kept,) = witness.store.all_witnessed()
    verify_cosignature(kept.note, rotated.name, rotated.public)
