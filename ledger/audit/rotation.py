"""Rotating a node's identity key, recorded in the node's own log
(docs/audit.md, "Rotating the identity key").

A rotation is an event of the node's log, `caseledger.audit.KeyRotated`: it
names the key in force (`old_key`) and the next one (`new_key`), both as note
verifier keys, with the old key's Ed25519 signature over the rotation
statement, and the new key's over the same statement (whoever rotates holds
the new key; a rotation cannot name someone else's key). The statement is

    caseledger key rotation/v1
    <old verifier key>
    <new verifier key>

each line ending in a newline. A checkpoint of a tree of size n is signed by
the key in force after every rotation at a position up to n; it carries one
extension line per rotation so far, in log order,

    key-rotation <log position> <base64 of the event's state as stored>

so that a witness holding only the leaves of the log, and the first key, can
follow the chain: each line's event must be the leaf at its position, and
its statement signed by the key before it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from eventsourcing.domain import Aggregate

from caseledger.ledger.audit.checkpoint import (
    BadNote,
    parse_verifier_key,
    public_bytes,
    verifier_key,
)
from caseledger.ledger.audit.log import AuditError

ROTATION_LINE = "key-rotation"
"""The first word of a checkpoint's extension line that carries a rotation."""

_NAMESPACE = uuid5(NAMESPACE_URL, "caseledger:key-rotation")
_STATEMENT = "caseledger key rotation/v1\n"


class BadRotation(AuditError):
    """A rotation that is not signed by the key in force, or does not parse."""


def rotation_id(new_key: str) -> UUID:
    """One aggregate per rotation, named by the key it brings in: recording the
    same rotation twice (a crash half way) finds the first."""
    return uuid5(_NAMESPACE, new_key)


def statement(old_key: str, new_key: str) -> bytes:
    return f"{_STATEMENT}{old_key}\n{new_key}\n".encode()


class SigningKey(Aggregate):
    """The node's identity key from a rotation on."""

    NAME = "caseledger.audit.SigningKey"

    def __init__(self) -> None:
        self.key = ""

    @dataclass(frozen=True)
    class Rotated(Aggregate.Created):
        """The node's identity key rotated: `old_key` signed `new_key` in."""

        NAME: ClassVar[str] = "caseledger.audit.KeyRotated"
        class_version: ClassVar[int] = 1

        node: str
        old_key: str
        new_key: str
        signature: str
        new_key_signature: str

        def apply(self, aggregate: Any) -> None:
            assert isinstance(aggregate, SigningKey)
            aggregate.key = self.new_key

    @classmethod
    def rotate(
        cls, node: str, name: str, old: Ed25519PrivateKey, new: Ed25519PrivateKey
    ) -> SigningKey:
        old_key = verifier_key(name, public_bytes(old.public_key()))
        new_key = verifier_key(name, public_bytes(new.public_key()))
        said = statement(old_key, new_key)
        return cls._create(
            cls.Rotated,
            id=rotation_id(new_key),
            node=node,
            old_key=old_key,
            new_key=new_key,
            signature=base64.b64encode(old.sign(said)).decode(),
            new_key_signature=base64.b64encode(new.sign(said)).decode(),
        )


@dataclass(frozen=True)
class Rotation:
    """A rotation as its event's state holds it."""

    old_key: str
    new_key: str
    signature: bytes
    new_key_signature: bytes

    @classmethod
    def from_state(cls, state: bytes) -> Rotation:
        try:
            fields = json.loads(state)
            return cls(
                str(fields["old_key"]),
                str(fields["new_key"]),
                base64.b64decode(fields["signature"], validate=True),
                base64.b64decode(fields["new_key_signature"], validate=True),
            )
        except (ValueError, KeyError, TypeError, binascii.Error) as error:
            raise BadRotation(f"not a key rotation: {error}") from None

    def follow(self, name: str, current: bytes) -> bytes:
        """The new key, once this rotation is found signed by `current` (the key
        in force) under the key name `name`, and by the new key."""
        try:
            old_name, old_public = parse_verifier_key(self.old_key)
            new_name, new_public = parse_verifier_key(self.new_key)
        except BadNote as error:
            raise BadRotation(f"a key rotation names a bad key: {error}") from None
        if old_name != name or new_name != name:
            raise BadRotation(f"a key rotation of {old_name} to {new_name}, not of {name}")
        if old_public != current:
            raise BadRotation(
                f"a key rotation from {self.old_key}, which is not the key in force "
                f"({verifier_key(name, current)})"
            )
        said = statement(self.old_key, self.new_key)
        for public, signature, whose in (
            (old_public, self.signature, "the key in force"),
            (new_public, self.new_key_signature, "the new key"),
        ):
            try:
                Ed25519PublicKey.from_public_bytes(public).verify(signature, said)
            except InvalidSignature:
                raise BadRotation(f"a key rotation not signed by {whose}") from None
        return new_public


def rotation_line(position: int, state: bytes) -> str:
    return f"{ROTATION_LINE} {position} {base64.b64encode(state).decode()}"


def rotation_lines(extensions: Sequence[str]) -> list[tuple[int, bytes]]:
    """The rotations a checkpoint's extension lines carry: (position, state)."""
    found = []
    for line in extensions:
        word, _, rest = line.partition(" ")
        if word != ROTATION_LINE:
            continue
        position, _, encoded = rest.partition(" ")
        try:
            found.append((int(position), base64.b64decode(encoded, validate=True)))
        except (ValueError, binascii.Error):
            raise BadRotation(f"a bad {ROTATION_LINE} line: {line[:60]!r}") from None
    if any(a[0] >= b[0] for a, b in pairwise(found)):
        raise BadRotation("the key rotations of a checkpoint are not in log order")
    return found


def key_in_force(
    name: str, first: bytes, rotations: Sequence[tuple[int, bytes]], size: int
) -> bytes:
    """The key that signs a checkpoint of `size`, following `rotations` (in log
    order) from the key `first`; BadRotation if one is not signed by the key
    before it. A chain may start at a later key: one the certificate binds
    once it was renewed after a rotation."""
    chain = [Rotation.from_state(state) for position, state in rotations if position <= size]
    start = 0
    for index, rotation in enumerate(chain):
        if rotation.new_key == verifier_key(name, first):
            start = index + 1  # `first` came in with this rotation
    current = first
    for rotation in chain[start:]:
        current = rotation.follow(name, current)
    return current
