"""Checkpoints as C2SP signed notes, and the node's identity key files."""

from __future__ import annotations

import base64
import hashlib
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from caseledger.ledger.audit import identity
from caseledger.ledger.audit.checkpoint import (
    BadNote,
    Checkpoint,
    open_note,
    origin_of,
    parse_verifier_key,
    public_bytes,
    sign_note,
)
from tests.samples import LIXIA

ROOT = hashlib.sha256(b"root").digest()


def test_a_checkpoint_is_origin_size_and_base64_root_one_per_line() -> None:
    checkpoint = Checkpoint(origin_of(LIXIA), 12, ROOT)
    assert checkpoint.text() == (
        "caseledger.example/370000000000/370102000000\n12\n"
        + base64.b64encode(ROOT).decode()
        + "\n"
    )
    assert Checkpoint.parse(checkpoint.text()) == checkpoint


@pytest.mark.parametrize(
    "text",
    ["o\n12\n", "o\n012\nAAAA\n", "o\n-1\n" + base64.b64encode(ROOT).decode() + "\n", "o\n1\n!\n"],
)
def test_a_malformed_checkpoint_is_refused(text: str) -> None:
    with pytest.raises(BadNote):
        Checkpoint.parse(text)


def test_the_signature_line_carries_the_key_id_of_the_note_spec() -> None:
    key = Ed25519PrivateKey.generate()
    name = origin_of(LIXIA)
    text = Checkpoint(name, 3, ROOT).text()
    note = sign_note(text, name, key)
    body, signature_line = note.split("\n\n")
    assert body + "\n" == text
    assert signature_line.startswith(f"\u2014 {name} ")
    signature = base64.b64decode(signature_line.split(" ")[2])
    public = public_bytes(key.public_key())
    assert signature[:4] == hashlib.sha256(name.encode() + b"\x0a\x01" + public).digest()[:4]
    Ed25519PublicKey.from_public_bytes(public).verify(signature[4:], text.encode())
    assert open_note(note, name, public) == text


def test_a_changed_note_or_another_key_does_not_verify() -> None:
    key = Ed25519PrivateKey.generate()
    name = origin_of(LIXIA)
    note = sign_note(Checkpoint(name, 3, ROOT).text(), name, key)
    with pytest.raises(BadNote, match="does not verify"):
        open_note(note.replace("\n3\n", "\n4\n"), name, public_bytes(key.public_key()))
    other = public_bytes(Ed25519PrivateKey.generate().public_key())
    with pytest.raises(BadNote, match="no signature"):
        open_note(note, name, other)


def test_the_identity_key_is_made_once_private_and_its_verifier_key_published(
    tmp_path: Path,
) -> None:
    first = identity.load_or_create(tmp_path, LIXIA)
    key_path = identity.key_file(tmp_path, LIXIA)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    again = identity.load_or_create(tmp_path, LIXIA)
    assert again.public == first.public
    published = identity.public_file(tmp_path, LIXIA).read_text(encoding="utf-8")
    assert parse_verifier_key(published) == (origin_of(LIXIA), first.public)
    note = first.sign(Checkpoint(first.name, 1, ROOT))
    assert Checkpoint.parse(open_note(note, first.name, first.public)).size == 1
