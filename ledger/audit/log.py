"""The port a store's application recorder offers when it keeps the node's
Merkle log: a consistent view of the tree, and where an event sits in the log.

Leaf `i` (0-based) is the event at log position `i + 1`: the tree covers the
log from its first position with no gap. A store appends to the tree in the
same transaction as the events, so a committed event is always in it.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol, runtime_checkable
from uuid import UUID

from caseledger.ledger.errors import LedgerError


class AuditError(Exception):
    """Root of the audit package's errors."""


class LogGap(AuditError, LedgerError):
    """The log and its tree disagree on where the log ends: events the tree
    holds were removed from the log, or the log has a hole. The node refuses
    to extend a tree over a log it cannot account for.

    Also a ledger error, so that the append it refuses reaches a client as
    damage (DATA_LOSS naming the tree's size and the position), not as an
    unhandled failure."""

    def __init__(self, tree_size: int, position: int) -> None:
        super().__init__(
            f"the log's next position is {position}, but its Merkle tree holds "
            f"{tree_size} leaves: the log was cut or has a hole"
        )
        self.tree_size = tree_size
        self.position = position


class TreeView(Protocol):
    """The tree as one read saw it."""

    @property
    def size(self) -> int: ...

    def subtree(self, level: int, index: int) -> bytes: ...


@runtime_checkable
class MerkleLog(Protocol):
    def tree(self) -> AbstractContextManager[TreeView]:
        """A view of the tree that no append changes while it is open."""
        ...

    def position_of(self, originator_id: UUID, version: int) -> int | None:
        """The log position of an aggregate's event, None if this log has none."""
        ...
