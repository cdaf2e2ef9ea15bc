"""Following a node's identity key through its rotations (docs/audit.md,
"Rotating the identity key"), with only the first key: a checkpoint carries
each rotation of the node so far as an extension line,

    key-rotation <log position> <base64 of the KeyRotated event's state>

and each rotation names the key in force and the next, signed by both over

    caseledger key rotation/v1
    <old verifier key>
    <new verifier key>

Written from that description, independently of the node's code."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from itertools import pairwise

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

ROTATION_LINE = "key-rotation"
ROTATION_EVENT = "caseledger.audit.KeyRotated"
_STATEMENT = "caseledger key rotation/v1\n"


class RotationRefused(ValueError):
    """A rotation line that does not parse, or is not signed by the key in force."""


@dataclass(frozen=True)
class CarriedRotation:
    position: int
    state: bytes
    old_key: str
    new_key: str


def public_of(verifier_key: str) -> bytes:
    try:
        raw = base64.b64decode(verifier_key.split("+", 2)[2], validate=True)
    except (IndexError, binascii.Error):
        raise RotationRefused(f"not a verifier key: {verifier_key[:60]!r}") from None
    if len(raw) != 33 or raw[0] != 1:
        raise RotationRefused(f"not an Ed25519 verifier key: {verifier_key[:60]!r}")
    return raw[1:]


def carried(text: str) -> list[CarriedRotation]:
    """The rotations a checkpoint's text carries, in log order, unchecked."""
    found = []
    for line in text.split("\n")[3:]:
        word, _, rest = line.partition(" ")
        if word != ROTATION_LINE:
            continue
        position, _, encoded = rest.partition(" ")
        try:
            state = base64.b64decode(encoded, validate=True)
            fields = json.loads(state)
            found.append(
                CarriedRotation(int(position), state, fields["old_key"], fields["new_key"])
            )
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise RotationRefused(f"a bad {ROTATION_LINE} line: {line[:60]!r}") from None
    if any(a.position >= b.position for a, b in pairwise(found)):
        raise RotationRefused("the key rotations of a checkpoint are not in log order")
    return found


def follow(name: str, current: bytes, rotation: CarriedRotation) -> bytes:
    """The new key of `rotation`, once it is found of key name `name`, from
    the key in force `current`, and signed by it and by the new key."""
    if {rotation.old_key.split("+")[0], rotation.new_key.split("+")[0]} != {name}:
        raise RotationRefused(
            f"the key rotation at log position {rotation.position} is not of {name}"
        )
    if public_of(rotation.old_key) != current:
        raise RotationRefused(
            f"the key rotation at log position {rotation.position} is from "
            f"{rotation.old_key}, not from the key in force"
        )
    fields = json.loads(rotation.state)
    said = f"{_STATEMENT}{rotation.old_key}\n{rotation.new_key}\n".encode()
    new_public = public_of(rotation.new_key)
    for public, signature in (
        (current, fields.get("signature", "")),
        (new_public, fields.get("new_key_signature", "")),
    ):
        try:
            Ed25519PublicKey.from_public_bytes(public).verify(
                base64.b64decode(signature, validate=True), said
            )
        except (InvalidSignature, binascii.Error, TypeError, ValueError):
            raise RotationRefused(
                f"the key rotation at log position {rotation.position} is not signed "
                "by the key in force and the new key"
            ) from None
    return new_public


def logged(position: int, state: bytes) -> CarriedRotation:
    """A rotation as its event's state holds it."""
    try:
        fields = json.loads(state)
        return CarriedRotation(position, state, str(fields["old_key"]), str(fields["new_key"]))
    except (ValueError, KeyError, TypeError):
        raise RotationRefused("the key rotation cannot be read") from None


def key_in_force(name: str, first_public: bytes, text: str) -> bytes:
    """The key that signs a checkpoint of `text`, from the key `first_public`
    of key name `name` through every rotation the text carries."""
    rotations = carried(text)
    start = 0
    for index, rotation in enumerate(rotations):
        if public_of(rotation.new_key) == first_public:
            start = index + 1  # `first` came in with this rotation
    current = first_public
    for rotation in rotations[start:]:
        current = follow(name, current, rotation)
    return current
