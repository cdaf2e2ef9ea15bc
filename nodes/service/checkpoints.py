"""Signing the node's checkpoints: periodically while the log grows, and on demand.

A background thread looks at the tree every `interval` seconds and signs a
checkpoint when it grew since the last one, or when its extension lines
changed (a witnessing node lists there the checkpoints it last witnessed,
`ledger.audit.witness.pins`); `latest` is that checkpoint (or one signed on
the spot if none was yet). Ed25519 signatures are deterministic, so a
checkpoint of a size signed twice with the same extension lines is the same
note.

The signer also rotates the node's identity key (docs/audit.md, "Rotating
the identity key"): when a next key is staged in the data folder (`caseledger
network pki rotate-key`), it records the rotation in the node's log, signed
by the key in force, and signs with the new key from then on. Every
checkpoint carries the rotations so far as extension lines, before the pins;
none is signed for a tree smaller than the last rotation's position (the
retired key's).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from caseledger.ledger.audit import merkle
from caseledger.ledger.audit.checkpoint import Checkpoint
from caseledger.ledger.audit.identity import Identity, install, recorded_rotations, staged
from caseledger.ledger.audit.log import AuditError, MerkleLog
from caseledger.ledger.audit.rotation import SigningKey, rotation_line
from caseledger.nodes.workers import CHECKPOINTS, Workers

if TYPE_CHECKING:
    from caseledger.ledger.application import CaseLedger

_log = structlog.get_logger("caseledger.nodes.checkpoints")

DEFAULT_INTERVAL = 2.0


class BeyondTree(ValueError):
    """A size the tree has not reached, or one before the last key rotation."""


@dataclass(frozen=True)
class SignedCheckpoint:
    checkpoint: Checkpoint
    note: str


class Checkpoints:
    def __init__(
        self,
        log: MerkleLog,
        identity: Identity,
        interval: float = DEFAULT_INTERVAL,
        workers: Workers | None = None,
    ):
        self._workers = workers if workers is not None else Workers()
        self.log = log
        self.identity = identity
        self._interval = interval
        # The pins of every checkpoint signed from now on (a witnessing node's).
        self.pins: Callable[[], tuple[str, ...]] = tuple
        # Told the new identity after a rotation (the node's witness cosigns with it).
        self.on_rotated: list[Callable[[Identity], None]] = []
        self.rotations = recorded_rotations(identity)
        self._ledger: CaseLedger | None = None
        self._lock = threading.Lock()
        self._latest: SignedCheckpoint | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="checkpoints", daemon=True)

    def records_rotations_in(self, ledger: CaseLedger) -> None:
        """Rotate to a staged key through `ledger` (the node's own log)."""
        self._ledger = ledger

    def extensions(self) -> tuple[str, ...]:
        """The rotations so far, then the pins."""
        return (
            *(rotation_line(position, state) for position, state in self.rotations),
            *self.pins(),
        )

    def rotate_staged(self) -> bool:
        """Rotate to the key staged in the data folder, if one is: the rotation
        is recorded in the log (once, even when tried again after a crash),
        then the key files follow. True if it rotated."""
        new = staged(self.identity)
        if new is None or self._ledger is None:
            return False
        ledger, old = self._ledger, self.identity
        rotation = SigningKey.rotate(ledger.node, old.name, old.key, new)
        position = self.log.position_of(rotation.id, 1)
        if position is None:
            if old.key.public_key() == new.public_key():
                raise AuditError(
                    "the staged key is the node's key, but no rotation to it is logged"
                )
            ledger.save(rotation)
            position = self._position_of(rotation)
        # Its state as stored: the leaf a witness checks the rotation line against.
        state = ledger.recorder.select_events(rotation.id)[0].state
        rotated = install(old, new, position, state)
        with self._lock:
            self.identity = rotated
            self.rotations = recorded_rotations(rotated)
            self._latest = None
        for listener in self.on_rotated:
            listener(rotated)
        _log.warning(
            "identity key rotated",
            key=rotated.verifier_key,
            previous=old.verifier_key,
            position=position,
        )
        return True

    def _position_of(self, rotation: SigningKey) -> int:
        # The Cassandra tree follows the log within a read of it: ask again
        # until the event just committed has its position.
        for _ in range(100):
            position = self.log.position_of(rotation.id, 1)
            if position is not None:
                return position
            self._stop.wait(0.05)
        raise RuntimeError(f"the key rotation {rotation.id} has no log position")

    def start(self) -> None:
        self._workers.started(CHECKPOINTS)
        self.rotate_staged()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def tree_size(self) -> int:
        with self.log.tree() as tree:
            return tree.size

    def at(self, size: int) -> SignedCheckpoint:
        """A checkpoint of the tree when it had `size` leaves, signed now."""
        with self.log.tree() as tree:
            if size > tree.size:
                raise BeyondTree(f"the tree has {tree.size} leaves, not {size}")
            root = merkle.root(tree, size)
        if self.rotations and size < self.rotations[-1][0]:
            raise BeyondTree(
                f"the identity key was rotated at log position {self.rotations[-1][0]}: "
                f"a tree of {size} leaves was signed with a retired key"
            )
        checkpoint = Checkpoint(self.identity.name, size, root, self.extensions())
        return SignedCheckpoint(checkpoint, self.identity.sign(checkpoint))

    def fresh(self) -> SignedCheckpoint:
        with self.log.tree() as tree:
            size = tree.size
        signed = self.at(size)
        self._keep(signed)
        return signed

    def latest(self) -> SignedCheckpoint:
        with self._lock:
            latest = self._latest
        return latest if latest is not None else self.fresh()

    def _keep(self, signed: SignedCheckpoint) -> None:
        with self._lock:
            if self._latest is None or signed.checkpoint.size >= self._latest.checkpoint.size:
                self._latest = signed

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.rotate_staged()
                with self._lock:
                    latest = self._latest
                if (
                    latest is None
                    or self.tree_size() != latest.checkpoint.size
                    or self.extensions() != latest.checkpoint.extensions
                ):
                    self.fresh()
                self._workers.succeeded(CHECKPOINTS)
            except Exception as error:  # the next round tries again; a reader signs on demand
                self._workers.failed(CHECKPOINTS, error)
