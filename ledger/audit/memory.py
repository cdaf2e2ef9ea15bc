"""The in-memory application recorder that keeps the node's Merkle log, for
throwaway nodes (store `memory`): the tree grows under the recorder's lock,
with the events."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.popo import POPOApplicationRecorder

from caseledger.ledger.audit import merkle
from caseledger.ledger.audit.leaves import event_leaf


class _Snapshot:
    def __init__(self, tree: merkle.MemoryTree) -> None:
        self._tree = tree
        self.size = tree.size

    def subtree(self, level: int, index: int) -> bytes:
        return self._tree.subtree(level, index)


class MerklePOPOApplicationRecorder(POPOApplicationRecorder):
    def __init__(self) -> None:
        super().__init__()
        self._merkle = merkle.MemoryTree()

    def _insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        with self._database_lock:
            positions = super()._insert_events(stored_events, **kwargs)
            for event in stored_events:
                self._merkle.append(
                    event_leaf(
                        event.topic, event.originator_id, event.originator_version, event.state
                    )
                )
            return positions

    @contextmanager
    def tree(self) -> Iterator[_Snapshot]:
        # Subtrees of a size never change once complete, so a snapshot of the
        # size alone is a consistent view.
        with self._database_lock:
            snapshot = _Snapshot(self._merkle)
        yield snapshot

    def position_of(self, originator_id: UUID, version: int) -> int | None:
        with self._database_lock:
            index = self._stored_events_index[str(originator_id)].get(version)
            return None if index is None else index + 1
