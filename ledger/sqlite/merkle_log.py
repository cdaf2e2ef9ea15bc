"""The SQLite application recorder that keeps the node's Merkle log.

Every complete subtree of the tree is a row of `merkle_subtrees` (level,
index, hash) in the events database, written in the transaction that
inserts the events, so a committed event is in the tree and a rolled-back
one is not. Appending a leaf reads only its left siblings, which are on the
tree's right edge (the frontier), and writes one row plus one per subtree it
completes: O(log n) hashing, about two rows amortized, never a whole-tree
recomputation. The frontier is cached between appends, keyed by the tree
size it belongs to and taken up only after its transaction committed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from eventsourcing import sqlite as library
from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteCursor, SQLiteDatastore

from caseledger.ledger.audit import merkle
from caseledger.ledger.audit.leaves import event_leaf
from caseledger.ledger.audit.log import LogGap

_TABLE = "merkle_subtrees"
_CATCH_UP_PAGE = 1000


class _CursorTree:
    """The tree as the current transaction sees it; known subtrees first."""

    def __init__(self, cursor: SQLiteCursor, size: int, known: dict[tuple[int, int], bytes]):
        self._cursor = cursor
        self.size = size
        self.known = known
        self.pending: list[tuple[int, int, bytes]] = []

    def subtree(self, level: int, index: int) -> bytes:
        found = self.known.get((level, index))
        if found is not None:
            return found
        self._cursor.execute(
            f"SELECT hash FROM {_TABLE} WHERE level = ? AND idx = ?", (level, index)
        )
        row = self._cursor.fetchone()
        if row is None:
            raise LookupError(f"the Merkle log has no subtree {level}/{index}")
        return bytes(row[0])

    def append(self, leaf: bytes) -> None:
        completed = merkle.append_nodes(self, self.size, leaf)
        self.pending.extend(completed)
        # The new frontier: the left siblings just merged leave it, the
        # largest subtree completed joins it.
        for level, index, _ in completed[:-1]:
            del self.known[level, index - 1]
        level, index, value = completed[-1]
        self.known[level, index] = value
        self.size += 1

    def flush(self) -> None:
        """Write the subtrees completed since the last flush."""
        if self.pending:
            self._cursor.executemany(f"INSERT INTO {_TABLE} VALUES (?, ?, ?)", self.pending)
            self.pending = []


class SQLiteApplicationRecorder(library.SQLiteApplicationRecorder):
    """The library's SQLite application recorder, keeping the Merkle log too;
    named as the library's, since the node's store is still the same store."""

    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name)
        self._cache_lock = threading.Lock()
        self._cached: tuple[int, dict[tuple[int, int], bytes]] = (0, {})

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {_TABLE} ("
            "level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL, "
            "PRIMARY KEY (level, idx)) WITHOUT ROWID",
        ]

    def create_table(self) -> None:
        super().create_table()
        # A log written before the tree existed is taken into it once, here.
        with self.datastore.transaction(commit=True) as c:
            self._catch_up(c, self._tree(c), (self._max_notification_id(c) or 0) + 1)

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        with self.datastore.transaction(commit=True) as c:
            positions = self._insert_events(c, stored_events, **kwargs)
            assert positions is not None
            tree = self._tree(c)
            self._catch_up(c, tree, positions[0] if positions else tree.size + 1)
            for position, event in zip(positions, stored_events, strict=True):
                if position != tree.size + 1:
                    raise LogGap(tree.size, position)
                tree.append(
                    event_leaf(
                        event.topic, event.originator_id, event.originator_version, event.state
                    )
                )
            tree.flush()
        with self._cache_lock:
            self._cached = (tree.size, tree.known)
        return positions

    def _tree(self, c: SQLiteCursor) -> _CursorTree:
        c.execute(f"SELECT MAX(idx) FROM {_TABLE} WHERE level = 0")
        last = c.fetchone()[0]
        size = 0 if last is None else last + 1
        with self._cache_lock:
            cached_size, known = self._cached
        if cached_size != size:
            known = {}
        tree = _CursorTree(c, size, dict(known))
        if not known:
            tree.known = {p: tree.subtree(*p) for p in merkle.frontier_positions(size)}
        return tree

    def _catch_up(self, c: SQLiteCursor, tree: _CursorTree, next_position: int) -> None:
        """Add the events at positions the tree lacks before `next_position`."""
        while tree.size + 1 < next_position:
            c.execute(
                f"SELECT rowid, * FROM {self.events_table_name} "
                "WHERE rowid > ? AND rowid < ? ORDER BY rowid LIMIT ?",
                (tree.size, next_position, _CATCH_UP_PAGE),
            )
            rows = c.fetchall()
            if not rows:
                raise LogGap(tree.size, next_position)
            for row in rows:
                if row["rowid"] != tree.size + 1:
                    raise LogGap(tree.size, row["rowid"])
                tree.append(
                    event_leaf(
                        row["topic"],
                        self.convert_originator_id(row["originator_id"]),
                        row["originator_version"],
                        row["state"],
                    )
                )
            tree.flush()

    @contextmanager
    def tree(self) -> Iterator[_CursorTree]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT MAX(idx) FROM {_TABLE} WHERE level = 0")
            last = c.fetchone()[0]
            yield _CursorTree(c, 0 if last is None else last + 1, {})

    def position_of(self, originator_id: UUID, version: int) -> int | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT rowid FROM {self.events_table_name} "
                "WHERE originator_id = ? AND originator_version = ?",
                (originator_id.hex, version),
            )
            row = c.fetchone()
            return None if row is None else int(row[0])
