"""Verifying a witness's cosignature on a checkpoint (C2SP tlog-cosignature,
cosignature/v1; docs/audit.md), written from the spec, independently of
the node's code.

The cosignature line is `— <witness name> <base64(key id ‖ timestamp ‖
signature)>`, the key id SHA-256(name ‖ 0x0A ‖ 0x04 ‖ key)[:4], the
timestamp 8 bytes big-endian, and the Ed25519 signature over
`cosignature/v1\\ntime <timestamp>\\n` followed by the checkpoint text.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from caseledger.cli.audit.checkpoint import CheckpointRefused

_SIGNATURE_PREFIX = "\u2014 "
_TYPE = b"\x04"


@dataclass(frozen=True)
class WitnessKey:
    name: str
    public: bytes

    @property
    def key_id(self) -> bytes:
        return hashlib.sha256(self.name.encode() + b"\n" + _TYPE + self.public).digest()[:4]

    @classmethod
    def parse(cls, text: str) -> WitnessKey:
        """`<name>+<hex key id>+<base64(0x04 ‖ public key)>`, its id checked."""
        parts = text.strip().split("+", 2)
        if len(parts) != 3:
            raise CheckpointRefused("a witness key is <name>+<key id>+<base64 key>")
        name, hex_id, encoded = parts
        try:
            raw = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise CheckpointRefused("the witness key is not base64") from None
        if len(raw) != 33 or raw[:1] != _TYPE:
            raise CheckpointRefused("the witness key is not a cosignature/v1 Ed25519 key")
        key = cls(name, raw[1:])
        if key.key_id.hex() != hex_id.lower():
            raise CheckpointRefused("the witness key's id does not match its name and key")
        return key


def verify_cosignature(note: str, key: WitnessKey) -> int:
    """The time (Unix seconds) at which `key`'s witness cosigned `note`, once
    its cosignature verifies."""
    cut = note.find("\n\n")
    if cut < 0:
        raise CheckpointRefused("the note has no blank line before its signatures")
    text = note[: cut + 1]
    for line in note[cut + 2 :].splitlines():
        if not line.startswith(_SIGNATURE_PREFIX):
            continue
        name, _, encoded = line[len(_SIGNATURE_PREFIX) :].partition(" ")
        try:
            blob = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            continue
        if name != key.name or len(blob) != 76 or blob[:4] != key.key_id:
            continue
        timestamp = int.from_bytes(blob[4:12], "big")
        message = f"cosignature/v1\ntime {timestamp}\n".encode() + text.encode()
        try:
            Ed25519PublicKey.from_public_bytes(key.public).verify(blob[12:], message)
        except InvalidSignature:
            raise CheckpointRefused(f"the cosignature of {key.name} does not verify") from None
        return timestamp
    raise CheckpointRefused(f"the note carries no cosignature of {key.name}")
