"""The Merkle log of a node whose events are in Cassandra.

The tree is derived from the notification log, which the single writer
numbers without gaps: every complete subtree is a row of the store's
`merkle_tree` table, with each event's position and the size the rows
cover (docs/audit.md). It follows the log on every read of the tree and on
the node's signing rounds, a page of entries at a time, rather than in the
append's lightweight transaction. Rows are written before the size that
makes them visible, and are the same whoever writes them, so a crash half
way costs only rewriting them: repair is the next catch-up.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID

from caseledger.ledger.audit import merkle
from caseledger.ledger.audit.leaves import event_leaf
from caseledger.ledger.audit.log import LogGap
from caseledger.ledger.cassandra.factory import CassandraDatastore
from caseledger.ledger.cassandra.schema import MERKLE
from caseledger.ledger.cassandra.session import Statement

_PAGE = 500
_SIZE = "size"


def _subtree_key(level: int, index: int) -> str:
    return f"s/{level}/{index}"


def _position_key(originator_id: UUID | str, version: int) -> str:
    return f"p/{originator_id}/{version}"


class _View:
    def __init__(self, tree: CassandraMerkleLog, size: int) -> None:
        self._tree = tree
        self.size = size

    def subtree(self, level: int, index: int) -> bytes:
        return self._tree.subtree(level, index)


class CassandraMerkleLog:
    def __init__(self, datastore: CassandraDatastore) -> None:
        self._session = datastore.session
        self._log = datastore.log()
        self._table = datastore.settings.table(MERKLE)
        self._lock = threading.Lock()
        # Complete subtrees never change: those read or written are kept (the
        # frontier above all, which every append reads).
        self._known: dict[tuple[int, int], bytes] = {}

    def subtree(self, level: int, index: int) -> bytes:
        found = self._known.get((level, index))
        if found is not None:
            return found
        rows = self._session.rows(
            f"SELECT hash FROM {self._table} WHERE key = ?", (_subtree_key(level, index),)
        )
        if not rows or rows[0]["hash"] is None:
            raise LookupError(f"the Merkle log has no subtree {level}/{index}")
        return bytes(rows[0]["hash"])

    def _size(self) -> int:
        rows = self._session.rows(f"SELECT position FROM {self._table} WHERE key = ?", (_SIZE,))
        return int(rows[0]["position"]) if rows and rows[0]["position"] is not None else 0

    def catch_up(self) -> int:
        """Take every event the log holds beyond the tree into it; the tree's size."""
        with self._lock:
            size = self._size()
            while True:
                entries = self._log.entries(size + 1, _PAGE)
                if not entries:
                    return size
                writes: list[list[Statement]] = []
                nodes = f"INSERT INTO {self._table} (key, hash) VALUES (?, ?)"
                positions = f"INSERT INTO {self._table} (key, position) VALUES (?, ?)"
                for entry in entries:
                    event = entry.notification
                    if event.id != size + 1:
                        raise LogGap(size, event.id)
                    leaf = event_leaf(
                        event.topic, event.originator_id, event.originator_version, event.state
                    )
                    for level, index, value in merkle.append_nodes(self, size, leaf):
                        self._known[level, index] = value
                        writes.append([(nodes, (_subtree_key(level, index), value))])
                    key = _position_key(event.originator_id, event.originator_version)
                    writes.append([(positions, (key, event.id))])
                    size += 1
                self._session.write_all(writes)
                # Only now are the rows visible: the size is written after them.
                self._session.write(positions, (_SIZE, size))
                self._forget_below(size)

    def _forget_below(self, size: int) -> None:
        keep = set(merkle.frontier_positions(size))
        self._known = {k: v for k, v in self._known.items() if k in keep}

    @contextmanager
    def tree(self) -> Iterator[_View]:
        yield _View(self, self.catch_up())

    def position_of(self, originator_id: UUID, version: int) -> int | None:
        rows = self._session.rows(
            f"SELECT position FROM {self._table} WHERE key = ?",
            (_position_key(originator_id, version),),
        )
        return int(rows[0]["position"]) if rows and rows[0]["position"] is not None else None
