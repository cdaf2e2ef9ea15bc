"""Witness cosignatures of checkpoints: C2SP tlog-cosignature (cosignature/v1).

A witness that checked a checkpoint adds one signature line to its note:

    — <witness name> <base64(key id ‖ timestamp ‖ Ed25519 signature)>

where the timestamp is the time of cosigning in seconds since the Unix epoch,
as 8 bytes big-endian, the signature is over

    cosignature/v1\\n
    time <timestamp in decimal>\\n
    <the checkpoint text, extension lines included>

and the key id is SHA-256(witness name ‖ 0x0A ‖ 0x04 ‖ public key)[:4]: the
type byte 0x04 keeps a cosignature apart from a note signature (0x01) made
with the same key, so a node's witness key may be its identity key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from caseledger.ledger.audit.checkpoint import BadNote, public_bytes

COSIGNATURE_V1 = b"\x04"
_DASH = "\u2014 "


def cosignature_key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + COSIGNATURE_V1 + public).digest()[:4]


def signed_message(text: str, timestamp: int) -> bytes:
    """What a cosignature signs: the cosignature/v1 header, then the checkpoint text."""
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


def text_of(note: str) -> str:
    """The text of a signed note (its last newline included), signatures not checked."""
    text, separator, _ = note.partition("\n\n")
    if not separator:
        raise BadNote("no blank line before the signatures")
    return text + "\n"


def cosign(note: str, name: str, key: Ed25519PrivateKey, timestamp: int) -> str:
    """`note` with the cosignature of witness `name` added as its last line."""
    text = text_of(note)
    signature = key.sign(signed_message(text, timestamp))
    blob = cosignature_key_id(name, public_bytes(key.public_key()))
    blob += struct.pack(">Q", timestamp) + signature
    return f"{note}{_DASH}{name} {base64.b64encode(blob).decode()}\n"


@dataclass(frozen=True)
class Cosignature:
    witness: str
    timestamp: int


def verify_cosignature(note: str, name: str, public: bytes) -> Cosignature:
    """The cosignature of witness `name` on `note`, once it verifies with `public`."""
    text = text_of(note)
    wanted = cosignature_key_id(name, public)
    for line in note[len(text) + 1 :].split("\n"):
        signer, _, encoded = line.removeprefix(_DASH).partition(" ")
        if not line.startswith(_DASH) or signer != name:
            continue
        try:
            blob = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise BadNote("a signature is not base64") from None
        if len(blob) != 4 + 8 + 64 or blob[:4] != wanted:
            continue
        (timestamp,) = struct.unpack(">Q", blob[4:12])
        try:
            Ed25519PublicKey.from_public_bytes(public).verify(
                blob[12:], signed_message(text, timestamp)
            )
        except InvalidSignature:
            raise BadNote(f"the cosignature of {name} does not verify") from None
        return Cosignature(name, timestamp)
    raise BadNote(f"the note has no cosignature of {name}")


def cosignature_verifier_key(name: str, public: bytes) -> str:
    """A witness's verifier key: `<name>+<hex key id>+<base64(0x04 ‖ key)>`."""
    encoded = base64.b64encode(COSIGNATURE_V1 + public).decode()
    return f"{name}+{cosignature_key_id(name, public).hex()}+{encoded}"
