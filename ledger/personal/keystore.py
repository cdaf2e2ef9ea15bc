"""A SQLite store of data-subject keys, kept in its own file.

Kept apart from the event store on purpose: erasing a subject (crypto-
shredding) destroys a key here and never touches an event. The row stays as
a tombstone, so the node can tell "erased" from "never held here". The file is
written with `synchronous=FULL` so a key is durable before any event sealed
under it is acknowledged.
"""

from __future__ import annotations

import os
import sqlite3
import threading

_PEPPER = "node-pepper"  # not a subject id: those are 32 hex digits


class SQLiteSubjectKeyStore:
    def __init__(self, path: str) -> None:
        self._lock = threading.Lock()
        self._pepper: bytes | None = None
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS subject_keys "
            "(subject TEXT PRIMARY KEY, key BLOB, erased_at TEXT)"
        )
        self._conn.execute(
            "INSERT OR IGNORE INTO subject_keys (subject, key) VALUES (?, ?)",
            (_PEPPER, os.urandom(32)),
        )

    def pepper(self) -> bytes:
        """The node's secret for deriving subject ids from identity numbers.

        Read once: it is made with the store and never changes (no subject id
        can name it, so nothing erases it), and every submission asks for it."""
        if self._pepper is None:
            key = self.key_for(_PEPPER)
            assert key is not None
            self._pepper = key
        return self._pepper

    def key_for(self, subject: str) -> bytes | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT key FROM subject_keys WHERE subject = ?", (subject,)
            ).fetchone()
        return None if row is None or row[0] is None else bytes(row[0])

    def is_erased(self, subject: str) -> bool:
        with self._lock:
            row = self._conn.execute(
                "SELECT erased_at FROM subject_keys WHERE subject = ?", (subject,)
            ).fetchone()
        return row is not None and row[0] is not None

    def create(self, subject: str, key: bytes) -> None:
        # A subject who was erased and comes back gets a new key; what was
        # sealed under the old one stays unreadable.
        with self._lock:
            self._conn.execute(
                "INSERT INTO subject_keys (subject, key) VALUES (?, ?) ON CONFLICT(subject) "
                "DO UPDATE SET key = excluded.key, erased_at = NULL WHERE key IS NULL",
                (subject, key),
            )

    def erase(self, subject: str) -> bool:
        with self._lock:
            cursor = self._conn.execute(
                "UPDATE subject_keys SET key = NULL, erased_at = datetime('now') "
                "WHERE subject = ? AND key IS NOT NULL",
                (subject,),
            )
        return cursor.rowcount > 0

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class MemorySubjectKeyStore:
    """For unit tests of sealing logic."""

    def __init__(self) -> None:
        self._keys: dict[str, bytes] = {}
        self._erased: set[str] = set()
        self._pepper = os.urandom(32)

    def pepper(self) -> bytes:
        return self._pepper

    def key_for(self, subject: str) -> bytes | None:
        return self._keys.get(subject)

    def is_erased(self, subject: str) -> bool:
        return subject in self._erased

    def create(self, subject: str, key: bytes) -> None:
        self._keys.setdefault(subject, key)
        self._erased.discard(subject)

    def erase(self, subject: str) -> bool:
        if self._keys.pop(subject, None) is None:
            return False
        self._erased.add(subject)
        return True
