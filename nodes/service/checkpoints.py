"""Signing the node's checkpoints: periodically while the log grows, and on demand.

A background thread looks at the tree every `interval` seconds and signs a
checkpoint when it grew since the last one, or when its extension lines
changed (a witnessing node lists there the checkpoints it last witnessed,
`ledger.audit.witness.pins`); `latest` is that checkpoint (or one signed on
the spot if none was yet). Ed25519 signatures are deterministic, so a
checkpoint of a size signed twice with the same extension lines is the same
note.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from caseledger.ledger.audit import merkle
from caseledger.ledger.audit.checkpoint import Checkpoint
from caseledger.ledger.audit.identity import Identity
from caseledger.ledger.audit.log import MerkleLog
from caseledger.nodes.workers import CHECKPOINTS, Workers

DEFAULT_INTERVAL = 2.0


class BeyondTree(ValueError):
    """A size the tree has not reached."""


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
        # The extension lines of every checkpoint signed from now on.
        self.extensions: Callable[[], tuple[str, ...]] = tuple
        self._lock = threading.Lock()
        self._latest: SignedCheckpoint | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="checkpoints", daemon=True)

    def start(self) -> None:
        self._workers.started(CHECKPOINTS)
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
