"""Which nodes share a subject's key, so an erasure reaches every copy.

A subject key leaves its node only wrapped to a node that takes one of the
subject's cases (`wrapping`). Both ends remember the other as a **peer** for that
subject. When the subject is erased at any node, the node erases its own copy
and owes each other peer a **notice**; a notice received erases the copy there
and is owed on to that node's other peers, so an erasure spreads along the paths
the key travelled, once per node, whichever node it started at.

A node files a key it took under the subject id the sending node gave it; its
own id for the same person (a keyed hash under its own secret) is an **alias**
of that id, so erasing by identity number at the taking node finds the key too.

Each erasure is **recorded** here (which subject, when, at whose request) beside
the key's tombstone in the key store. Kept in the key store's file: nothing of it
is in any event, so no chain changes.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Erasure:
    subject: str
    at: str
    requested_by: str
    """`here` (an operator of this node) or the peer node whose notice it was."""


class KeyPeers:
    def __init__(self, path: str) -> None:
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        for table in (
            "key_peers (subject TEXT, node TEXT, PRIMARY KEY (subject, node))",
            "key_aliases (alias TEXT, subject TEXT, PRIMARY KEY (alias, subject))",
            "erasure_notices (subject TEXT, node TEXT, PRIMARY KEY (subject, node))",
            "erasures (subject TEXT PRIMARY KEY, at TEXT, requested_by TEXT)",
        ):
            self._conn.execute(f"CREATE TABLE IF NOT EXISTS {table}")

    def _rows(self, sql: str, *args: str) -> list[tuple[str, ...]]:
        with self._lock:
            return [tuple(row) for row in self._conn.execute(sql, args).fetchall()]

    def _write(self, sql: str, *args: str) -> None:
        with self._lock:
            self._conn.execute(sql, args)

    def add_peer(self, subject: str, node: str) -> None:
        self._write("INSERT OR IGNORE INTO key_peers VALUES (?, ?)", subject, node)

    def peers(self, subject: str) -> list[str]:
        rows = self._rows("SELECT node FROM key_peers WHERE subject = ? ORDER BY node", subject)
        return [row[0] for row in rows]

    def add_alias(self, alias: str, subject: str) -> None:
        if alias != subject:
            self._write("INSERT OR IGNORE INTO key_aliases VALUES (?, ?)", alias, subject)

    def aliased(self, alias: str) -> list[str]:
        """The ids other nodes gave the subject this node knows as `alias`."""
        rows = self._rows("SELECT subject FROM key_aliases WHERE alias = ? ORDER BY 1", alias)
        return [row[0] for row in rows]

    def aliases_of(self, subject: str) -> list[str]:
        """This node's own ids for the subject another node calls `subject`."""
        rows = self._rows("SELECT alias FROM key_aliases WHERE subject = ? ORDER BY 1", subject)
        return [row[0] for row in rows]

    def record(self, subject: str, requested_by: str) -> bool:
        """Record the erasure of `subject`; False if it was recorded before."""
        with self._lock:
            cursor = self._conn.execute(
                "INSERT OR IGNORE INTO erasures VALUES (?, datetime('now'), ?)",
                (subject, requested_by),
            )
        return cursor.rowcount > 0

    def erasure(self, subject: str) -> Erasure | None:
        rows = self._rows(
            "SELECT subject, at, requested_by FROM erasures WHERE subject = ?", subject
        )
        return Erasure(*rows[0]) if rows else None

    def owe(self, subject: str, node: str) -> None:
        self._write("INSERT OR IGNORE INTO erasure_notices VALUES (?, ?)", subject, node)

    def owed(self) -> list[tuple[str, str]]:
        """The notices not yet delivered: (subject, node)."""
        rows = self._rows("SELECT subject, node FROM erasure_notices ORDER BY 1, 2")
        return [(row[0], row[1]) for row in rows]

    def delivered(self, subject: str, node: str) -> None:
        self._write("DELETE FROM erasure_notices WHERE subject = ? AND node = ?", subject, node)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
