"""The node's identity key: the Ed25519 key its checkpoints are signed with.

Created on first start in the node's data folder: `<code>.identity.key`
(PKCS#8 PEM, mode 0600) and beside it `<code>.identity.pub`, the note
verifier key (`<name>+<key id>+<base64 key>`) an auditor is given.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from caseledger.ledger.audit.checkpoint import (
    Checkpoint,
    origin_of,
    public_bytes,
    sign_note,
)
from caseledger.ledger.audit.checkpoint import (
    verifier_key as vkey,
)
from caseledger.ledger.audit.log import AuditError


@dataclass(frozen=True)
class Identity:
    name: str
    key: Ed25519PrivateKey

    @property
    def public(self) -> bytes:
        return public_bytes(self.key.public_key())

    @property
    def verifier_key(self) -> str:
        return vkey(self.name, self.public)

    def sign(self, checkpoint: Checkpoint) -> str:
        return sign_note(checkpoint.text(), self.name, self.key)


def key_file(directory: Path, code: str) -> Path:
    return directory / f"{code}.identity.key"


def public_file(directory: Path, code: str) -> Path:
    return directory / f"{code}.identity.pub"


def load_or_create(directory: Path, code: str) -> Identity:
    """The node's identity from its data folder, made there on first start."""
    path = key_file(directory, code)
    name = origin_of(code)
    if path.exists():
        loaded = load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise AuditError(f"{path} does not hold an Ed25519 key")
        identity = Identity(name, loaded)
    else:
        identity = Identity(name, Ed25519PrivateKey.generate())
        pem = identity.key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        directory.mkdir(parents=True, exist_ok=True)
        # Written under a temporary name and renamed: a crash never leaves half a key.
        partial = path.with_suffix(".partial")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(pem)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, path)
    public_file(directory, code).write_text(identity.verifier_key + "\n", encoding="utf-8")
    return identity
