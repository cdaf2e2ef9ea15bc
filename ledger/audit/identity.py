"""The node's identity key: the Ed25519 key its checkpoints are signed with.

Created on first start in the node's data folder: `<code>.identity.key`
(PKCS#8 PEM, mode 0600) and beside it `<code>.identity.pub`, the note
verifier key (`<name>+<key id>+<base64 key>`) an auditor is given.

A rotation (`ledger.audit.rotation`) is staged by writing the next key to
`<code>.identity.next` (`stage_next`); the node records it in its log, then
`install` keeps the event's state in `<code>.identity.rotations` (one JSON
line per rotation: its log position and its state, base64), moves the old
key aside to `<code>.identity.<key id>.retired` and puts the new one in its
place. Each step can be taken again after a crash: the staged key stays until
the last.
"""

from __future__ import annotations

import base64
import json
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
    key_id,
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
    # The data folder and node code it was loaded from (its rotations are kept there).
    directory: Path | None = None
    code: str = ""

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


def next_key_file(directory: Path, code: str) -> Path:
    return directory / f"{code}.identity.next"


def rotations_file(directory: Path, code: str) -> Path:
    return directory / f"{code}.identity.rotations"


def _read_key(path: Path) -> Ed25519PrivateKey:
    loaded = load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise AuditError(f"{path} does not hold an Ed25519 key")
    return loaded


def _write_key(path: Path, key: Ed25519PrivateKey) -> None:
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written under a temporary name and renamed: a crash never leaves half a key.
    partial = path.with_suffix(".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(pem)
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, path)


def load_or_create(directory: Path, code: str) -> Identity:
    """The node's identity from its data folder, made there on first start."""
    path = key_file(directory, code)
    name = origin_of(code)
    if path.exists():
        identity = Identity(name, _read_key(path), directory, code)
    else:
        identity = Identity(name, Ed25519PrivateKey.generate(), directory, code)
        _write_key(path, identity.key)
    public_file(directory, code).write_text(identity.verifier_key + "\n", encoding="utf-8")
    return identity


def stage_next(directory: Path, code: str) -> str:
    """Make the node's next identity key (or keep the one already staged); its
    verifier key. The node rotates to it within one signing round."""
    path = next_key_file(directory, code)
    if path.exists():
        key = _read_key(path)
    else:
        key = Ed25519PrivateKey.generate()
        _write_key(path, key)
    return vkey(origin_of(code), public_bytes(key.public_key()))


def staged(identity: Identity) -> Ed25519PrivateKey | None:
    """The next key staged for `identity`'s node, if any."""
    if identity.directory is None:
        return None
    path = next_key_file(identity.directory, identity.code)
    return _read_key(path) if path.exists() else None


def recorded_rotations(identity: Identity) -> list[tuple[int, bytes]]:
    """The node's rotations so far: (log position, the event's state as stored)."""
    if identity.directory is None:
        return []
    path = rotations_file(identity.directory, identity.code)
    if not path.exists():
        return []
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            entry = json.loads(line)
            found.append((int(entry["position"]), base64.b64decode(entry["state"])))
    return found


def install(identity: Identity, new: Ed25519PrivateKey, position: int, state: bytes) -> Identity:
    """Once the rotation to `new` is in the log at `position` (its state as
    stored): keep it, retire the old key, make `new` the node's key."""
    directory = identity.directory
    if directory is None:
        raise AuditError("an identity with no data folder cannot be rotated")
    code = identity.code
    if position not in {known for known, _ in recorded_rotations(identity)}:
        line = json.dumps({"position": position, "state": base64.b64encode(state).decode()})
        with rotations_file(directory, code).open("a", encoding="utf-8") as out:
            out.write(line + "\n")
            out.flush()
            os.fsync(out.fileno())
    rotated = Identity(identity.name, new, directory, code)
    if rotated.public != identity.public:
        retired = (
            directory / f"{code}.identity.{key_id(identity.name, identity.public).hex()}.retired"
        )
        _write_key(retired, identity.key)
        _write_key(key_file(directory, code), new)
    public_file(directory, code).write_text(rotated.verifier_key + "\n", encoding="utf-8")
    next_key_file(directory, code).unlink(missing_ok=True)
    return rotated
