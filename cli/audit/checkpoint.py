"""Reading and verifying a node's signed checkpoint (docs/audit.md): a C2SP
tlog-checkpoint inside a C2SP signed note, Ed25519 with the note key-id rule.
Written from the specs, independently of the node's code."""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from caseledger.cli.audit.rotation import RotationRefused, key_in_force

_SIGNATURE_PREFIX = "\u2014 "


class CheckpointRefused(Exception):
    """The note does not parse, or no signature of the trusted key verifies."""


@dataclass(frozen=True)
class VerifierKey:
    name: str
    public: bytes

    @property
    def key_id(self) -> bytes:
        return hashlib.sha256(self.name.encode() + b"\n\x01" + self.public).digest()[:4]

    @classmethod
    def parse(cls, text: str) -> VerifierKey:
        """`<name>+<hex key id>+<base64(0x01 ‖ public key)>`, its id checked."""
        parts = text.strip().split("+", 2)
        if len(parts) != 3:
            raise CheckpointRefused("a verifier key is <name>+<key id>+<base64 key>")
        name, hex_id, encoded = parts
        try:
            raw = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise CheckpointRefused("the verifier key is not base64") from None
        if len(raw) != 33 or raw[0] != 1:
            raise CheckpointRefused("the verifier key is not an Ed25519 key")
        key = cls(name, raw[1:])
        if key.key_id.hex() != hex_id.lower():
            raise CheckpointRefused("the verifier key's id does not match its name and key")
        return key


@dataclass(frozen=True)
class SignedCheckpoint:
    origin: str
    size: int
    root: bytes
    note: str


def verify_note(note: str, key: VerifierKey) -> SignedCheckpoint:
    """The checkpoint in `note`, once `key`'s signature on its text verifies."""
    cut = note.rfind("\n\n")
    if cut < 0:
        raise CheckpointRefused("the note has no blank line before its signatures")
    text, signature_lines = note[: cut + 1], note[cut + 2 :]
    try:
        # After a rotation the note is signed by the key `key` was rotated to.
        key = VerifierKey(key.name, key_in_force(key.name, key.public, text))
    except RotationRefused as error:
        raise CheckpointRefused(str(error)) from None
    verified = False
    for line in signature_lines.splitlines():
        if not line.startswith(_SIGNATURE_PREFIX):
            raise CheckpointRefused(f"not a signature line: {line[:40]!r}")
        name, _, encoded = line[len(_SIGNATURE_PREFIX) :].rpartition(" ")
        try:
            blob = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise CheckpointRefused("a signature is not base64") from None
        if name != key.name or blob[:4] != key.key_id:
            continue  # another signer's: ignored, as the spec says
        try:
            Ed25519PublicKey.from_public_bytes(key.public).verify(blob[4:], text.encode())
        except InvalidSignature:
            raise CheckpointRefused(f"the signature of {key.name} does not verify") from None
        verified = True
    if not verified:
        raise CheckpointRefused(f"the note carries no signature of {key.name}")
    return _checkpoint(text, note)


def _checkpoint(text: str, note: str) -> SignedCheckpoint:
    lines = text.split("\n")
    if len(lines) < 4:
        raise CheckpointRefused("a checkpoint has an origin, a size and a root line")
    origin, size, root = lines[0], lines[1], lines[2]
    if not size.isdigit() or (len(size) > 1 and size[0] == "0"):
        raise CheckpointRefused(f"the tree size {size!r} is not a decimal number")
    try:
        digest = base64.b64decode(root, validate=True)
    except binascii.Error:
        raise CheckpointRefused("the root hash is not base64") from None
    if len(digest) != 32:
        raise CheckpointRefused("the root hash is not 32 bytes")
    return SignedCheckpoint(origin, int(size), digest, note)
