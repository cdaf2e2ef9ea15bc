"""What a witnessing node keeps of each descendant it witnesses, in SQLite
(`<code>.witness.sqlite` in its data folder):

- `held_leaves`: the leaf hash of each event of the descendant's own log it
  received beyond a gap, by the log position the descendant sent it with;
- `held_subtrees`, `held_trees`: the Merkle tree over the leaves received
  from position 1, extended as far as they run without a gap (the same
  complete-subtree form as the node's own log, `merkle.py`); a leaf taken
  into it is kept there only, as its subtree of level 0;
- `witnessed`: the descendant's latest witnessed checkpoint, its note with
  this node's cosignature;
- `pending`: the newest checkpoint not yet checkable (it covers positions not
  yet received);
- `forks`: every checkpoint (or received event) found inconsistent with what
  was witnessed, with both sides; never deleted.

A received position is written once: the same event again changes nothing,
a different one at the same position is reported, not stored.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from caseledger.ledger.audit import merkle

_SCHEMA = """
CREATE TABLE IF NOT EXISTS held_leaves (
    node TEXT NOT NULL, position INTEGER NOT NULL, leaf BLOB NOT NULL,
    PRIMARY KEY (node, position));
CREATE TABLE IF NOT EXISTS held_subtrees (
    node TEXT NOT NULL, level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,
    PRIMARY KEY (node, level, idx));
CREATE TABLE IF NOT EXISTS held_trees (node TEXT PRIMARY KEY, size INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS witnessed (
    node TEXT PRIMARY KEY, size INTEGER NOT NULL, root BLOB NOT NULL,
    note TEXT NOT NULL, witnessed_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pending (
    node TEXT PRIMARY KEY, note TEXT NOT NULL, public BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS forks (
    id INTEGER PRIMARY KEY AUTOINCREMENT, node TEXT NOT NULL,
    accepted_note TEXT NOT NULL, conflicting_note TEXT NOT NULL,
    detail TEXT NOT NULL, detected_at TEXT NOT NULL,
    UNIQUE (node, conflicting_note, detail));
"""


@dataclass(frozen=True)
class Witnessed:
    node: str
    size: int
    root: bytes
    note: str
    witnessed_at: str


@dataclass(frozen=True)
class Fork:
    """Two views of one node's log that cannot both be true."""

    node: str
    accepted_note: str
    conflicting_note: str
    detail: str
    detected_at: str


@dataclass(frozen=True)
class Conflict:
    """A position received twice with different events."""

    position: int
    held: bytes
    received: bytes


class _HeldTree:
    def __init__(self, db: sqlite3.Connection, node: str) -> None:
        self._db = db
        self._node = node

    def subtree(self, level: int, index: int) -> bytes:
        row = self._db.execute(
            "SELECT hash FROM held_subtrees WHERE node = ? AND level = ? AND idx = ?",
            (self._node, level, index),
        ).fetchone()
        if row is None:
            raise KeyError(f"{self._node}: no subtree {level}/{index}")
        return bytes(row[0])


class WitnessStore:
    def __init__(self, path: str) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        # The feeds' threads and the service's share the one connection.
        self._lock = threading.RLock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def hold(self, node: str, leaves: Sequence[tuple[int, bytes]]) -> list[Conflict]:
        """Record received leaves and extend the held tree over them."""
        conflicts = []
        with self._transaction() as db:
            size = self._size(db, node)
            for position, leaf in leaves:
                if position <= size:  # in the tree: its leaf is the subtree of level 0
                    row = db.execute(
                        "SELECT hash FROM held_subtrees WHERE node = ? AND level = 0 AND idx = ?",
                        (node, position - 1),
                    ).fetchone()
                else:
                    row = db.execute(
                        "SELECT leaf FROM held_leaves WHERE node = ? AND position = ?",
                        (node, position),
                    ).fetchone()
                if row is None:
                    db.execute("INSERT INTO held_leaves VALUES (?, ?, ?)", (node, position, leaf))
                elif bytes(row[0]) != leaf:
                    conflicts.append(Conflict(position, bytes(row[0]), leaf))
            self._extend(db, node)
        return conflicts

    def _extend(self, db: sqlite3.Connection, node: str) -> None:
        size = self._size(db, node)
        tree = _HeldTree(db, node)
        while True:
            row = db.execute(
                "SELECT leaf FROM held_leaves WHERE node = ? AND position = ?", (node, size + 1)
            ).fetchone()
            if row is None:
                break
            for level, index, value in merkle.append_nodes(tree, size, bytes(row[0])):
                db.execute(
                    "INSERT OR REPLACE INTO held_subtrees VALUES (?, ?, ?, ?)",
                    (node, level, index, value),
                )
            size += 1
        # A leaf taken into the tree is kept there (level 0), not twice.
        db.execute("DELETE FROM held_leaves WHERE node = ? AND position <= ?", (node, size))
        db.execute("INSERT OR REPLACE INTO held_trees VALUES (?, ?)", (node, size))

    @staticmethod
    def _size(db: sqlite3.Connection, node: str) -> int:
        row = db.execute("SELECT size FROM held_trees WHERE node = ?", (node,)).fetchone()
        return 0 if row is None else int(row[0])

    def held_size(self, node: str) -> int:
        with self._lock:
            return self._size(self._db, node)

    def held_leaves(self, node: str) -> dict[int, bytes]:
        """The leaves received beyond the held tree (after a gap), by position."""
        with self._lock:
            rows = self._db.execute(
                "SELECT position, leaf FROM held_leaves WHERE node = ?", (node,)
            ).fetchall()
        return {int(r[0]): bytes(r[1]) for r in rows}

    def held_leaf(self, node: str, position: int) -> bytes | None:
        """The leaf received at `position` of `node`'s log, None if none was."""
        with self._lock:
            if position <= self._size(self._db, node):
                row = self._db.execute(
                    "SELECT hash FROM held_subtrees WHERE node = ? AND level = 0 AND idx = ?",
                    (node, position - 1),
                ).fetchone()
            else:
                row = self._db.execute(
                    "SELECT leaf FROM held_leaves WHERE node = ? AND position = ?",
                    (node, position),
                ).fetchone()
        return None if row is None else bytes(row[0])

    def held_root(self, node: str, size: int) -> bytes:
        with self._lock:
            return merkle.root(_HeldTree(self._db, node), size)

    def held_consistency(self, node: str, old: int, new: int) -> list[bytes]:
        with self._lock:
            return merkle.consistency_proof(_HeldTree(self._db, node), old, new)

    def witnessed(self, node: str) -> Witnessed | None:
        with self._lock:
            row = self._db.execute(
                "SELECT node, size, root, note, witnessed_at FROM witnessed WHERE node = ?", (node,)
            ).fetchone()
        return None if row is None else Witnessed(row[0], row[1], bytes(row[2]), row[3], row[4])

    def all_witnessed(self) -> list[Witnessed]:
        with self._lock:
            rows = self._db.execute(
                "SELECT node, size, root, note, witnessed_at FROM witnessed ORDER BY node"
            ).fetchall()
        return [Witnessed(r[0], r[1], bytes(r[2]), r[3], r[4]) for r in rows]

    def witness(self, record: Witnessed) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO witnessed VALUES (?, ?, ?, ?, ?)",
                (record.node, record.size, record.root, record.note, record.witnessed_at),
            )
            db.execute(
                "DELETE FROM pending WHERE node = ? AND note = ?", (record.node, record.note)
            )

    def keep_pending(self, node: str, note: str, public: bytes) -> None:
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO pending VALUES (?, ?, ?)", (node, note, public))

    def pending(self, node: str) -> tuple[str, bytes] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT note, public FROM pending WHERE node = ?", (node,)
            ).fetchone()
        return None if row is None else (row[0], bytes(row[1]))

    def drop_pending(self, node: str, note: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM pending WHERE node = ? AND note = ?", (node, note))

    def record_fork(self, fork: Fork) -> bool:
        """Keep `fork`; False if the same evidence was already kept."""
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO forks (node, accepted_note, conflicting_note, detail,"
                " detected_at) VALUES (?, ?, ?, ?, ?)",
                (
                    fork.node,
                    fork.accepted_note,
                    fork.conflicting_note,
                    fork.detail,
                    fork.detected_at,
                ),
            )
            return cursor.rowcount > 0

    def forks(self, node: str = "") -> list[Fork]:
        with self._lock:
            rows = self._db.execute(
                "SELECT node, accepted_note, conflicting_note, detail, detected_at FROM forks"
                " WHERE ? = '' OR node = ? ORDER BY id",
                (node, node),
            ).fetchall()
        return [Fork(*row) for row in rows]
