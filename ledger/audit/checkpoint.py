"""Checkpoints of the node's Merkle log: C2SP tlog-checkpoint text inside a
C2SP signed note, signed with Ed25519 (docs/audit.md).

The checkpoint text is three lines: the origin, the tree size in decimal and
the root hash in standard base64, then any extension lines (C2SP allows them;
a witnessing node lists there the checkpoints of its descendants it last
witnessed, `ledger.audit.witness.pin_line`). The origin names the node and its network:
`caseledger.example/<province code>/<division code>`, the network named by
the 12-digit code of its province (the first two digits, then zeros). The
note's key name is the origin; its key id is the first four bytes of
SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ public key).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from caseledger.ledger.audit.log import AuditError

ORIGIN_HOST = "caseledger.example"
ED25519 = b"\x01"
_DASH = "\u2014 "


class BadNote(AuditError):
    """A note or checkpoint that does not parse or does not verify."""


def origin_of(code: str) -> str:
    """The origin line (and key name) of the node with division code `code`."""
    return f"{ORIGIN_HOST}/{code[:2]}0000000000/{code}"


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        lines = (
            self.origin,
            str(self.size),
            base64.b64encode(self.root).decode(),
            *self.extensions,
        )
        return "".join(f"{line}\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            raise BadNote("a checkpoint is at least three lines, each ending in a newline")
        origin, size, root = lines[:3]
        if not origin or not size.isdigit() or (size != "0" and size.startswith("0")):
            raise BadNote("bad origin or tree size line")
        try:
            digest = base64.b64decode(root, validate=True)
        except binascii.Error:
            raise BadNote("the root hash is not base64") from None
        if len(digest) != 32:
            raise BadNote("the root hash is not 32 bytes")
        extensions = tuple(lines[3:-1])
        if any(not line for line in extensions):
            raise BadNote("an extension line is empty")
        return cls(origin, int(size), digest, extensions)


def public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public).digest()[:4]


def verifier_key(name: str, public: bytes) -> str:
    """The note verifier key string: `<name>+<hex key id>+<base64(0x01 ‖ key)>`."""
    return f"{name}+{key_id(name, public).hex()}+{base64.b64encode(ED25519 + public).decode()}"


def parse_verifier_key(text: str) -> tuple[str, bytes]:
    """The key name and raw public key of a verifier key string, checked."""
    try:
        name, hex_id, encoded = text.strip().split("+", 2)
        raw = base64.b64decode(encoded, validate=True)
    except (ValueError, binascii.Error):
        raise BadNote("not a verifier key: <name>+<key id>+<base64 key>") from None
    if len(raw) != 33 or raw[:1] != ED25519 or key_id(name, raw[1:]).hex() != hex_id:
        raise BadNote("the verifier key is not an Ed25519 key of that name and id")
    return name, raw[1:]


def sign_note(text: str, name: str, key: Ed25519PrivateKey) -> str:
    if not text.endswith("\n"):
        raise BadNote("a note's text ends in a newline")
    signature = key_id(name, public_bytes(key.public_key())) + key.sign(text.encode())
    return f"{text}\n{_DASH}{name} {base64.b64encode(signature).decode()}\n"


def open_note(note: str, name: str, public: bytes) -> str:
    """The text of `note` once a signature by key `name` with `public` verifies."""
    text, separator, signatures = note.rpartition("\n\n")
    if not separator:
        raise BadNote("no blank line before the signatures")
    text += "\n"
    wanted = key_id(name, public)
    for line in signatures.split("\n"):
        if not line.startswith(_DASH):
            if line:
                raise BadNote("a signature line begins with an em dash")
            continue
        signer, _, encoded = line[len(_DASH) :].partition(" ")
        try:
            signature = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise BadNote("a signature is not base64") from None
        if signer != name or signature[:4] != wanted:
            continue
        try:
            Ed25519PublicKey.from_public_bytes(public).verify(signature[4:], text.encode())
        except InvalidSignature:
            raise BadNote(f"the signature of {name} does not verify") from None
        return text
    raise BadNote(f"the note has no signature of {name}")
