"""A SQLite store of data-subject keys, kept in its own file.

Kept apart from the event store on purpose: erasing a subject (crypto-
shredding) deletes a row here and never touches an event. The file is
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
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS subject_keys (subject TEXT PRIMARY KEY, key BLOB NOT NULL)"
        )
        self._conn.execute(
            "INSERT OR IGNORE INTO subject_keys VALUES (?, ?)", (_PEPPER, os.urandom(32))
        )

    def pepper(self) -> bytes:
        """The node's secret for deriving subject ids from identity numbers."""
        key = self.key_for(_PEPPER)
        assert key is not None
        return key

    def key_for(self, subject: str) -> bytes | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT key FROM subject_keys WHERE subject = ?", (subject,)
            ).fetchone()
        return None if row is None else bytes(row[0])

    def create(self, subject: str, key: bytes) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT OR IGNORE INTO subject_keys (subject, key) VALUES (?, ?)", (subject, key)
            )

    def erase(self, subject: str) -> bool:
        with self._lock:
            cursor = self._conn.execute("DELETE FROM subject_keys WHERE subject = ?", (subject,))
        return cursor.rowcount > 0

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class MemorySubjectKeyStore:
    """For unit tests of sealing logic."""

    def __init__(self) -> None:
        self._keys: dict[str, bytes] = {}
        self._pepper = os.urandom(32)

    def pepper(self) -> bytes:
        return self._pepper

    def key_for(self, subject: str) -> bytes | None:
        return self._keys.get(subject)

    def create(self, subject: str, key: bytes) -> None:
        self._keys.setdefault(subject, key)

    def erase(self, subject: str) -> bool:
        return self._keys.pop(subject, None) is not None
