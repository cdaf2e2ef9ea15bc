"""Received trails held apart (隔离): a case whose received events broke, with the evidence.

When an event from a source does not verify, or a second copy of a version
this node holds arrives with another hash, the node neither stores it nor
stops following the source: it records the case here, with the reason, the
version, both hashes where two copies met and the time it was first seen,
and keeps the offending event and every later event of the case it receives
(`held`) instead of applying them. The source's other cases go on. A gap in
a source's log (positions that never came) and an event the transport could
not carry are recorded here too, with no case when none is known.

What is recorded stays until an operator deals with it; nothing here
releases a case. The file is SQLite, next to the node's other small stores,
written with `synchronous=NORMAL` in WAL mode. A record is written before
the batch it came with is stored with its position, so a crash in between
finds the same break again on redelivery, and recording it again changes
nothing (one row per case, source, version and reason; the first time seen
is kept).
"""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from eventsourcing.persistence import StoredEvent

_HELD_PER_CASE = 1_000
"""Held events kept per case and source; past it they are counted, not kept (a
source sending without end cannot fill the disk)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS quarantined (
    case_id TEXT NOT NULL,
    source TEXT NOT NULL,
    version INTEGER NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    held_hash TEXT NOT NULL,
    received_hash TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    PRIMARY KEY (case_id, source, version, reason)
);
CREATE TABLE IF NOT EXISTS held (
    case_id TEXT NOT NULL,
    source TEXT NOT NULL,
    position INTEGER NOT NULL,
    version INTEGER NOT NULL,
    topic TEXT NOT NULL,
    state BLOB NOT NULL,
    PRIMARY KEY (case_id, source, position, version)
);
CREATE TABLE IF NOT EXISTS held_over (
    case_id TEXT NOT NULL,
    source TEXT NOT NULL,
    dropped INTEGER NOT NULL,
    PRIMARY KEY (case_id, source)
);
"""


class Reason(StrEnum):
    """Why a case (or a stretch of a source's log) is held apart; the values are stable."""

    UNREADABLE = "unreadable"
    """An event that does not decode, or whose content has no canonical form."""
    HASH_MISMATCH = "hash_mismatch"
    """An event whose hash is not the SHA-256 of its canonical form."""
    BROKEN_LINK = "broken_link"
    """An event that does not follow the copy of the event before it held here
    (or is not the event that the one after it, held here, follows)."""
    CONFLICT = "conflict"
    """A second copy of a version this node holds, with another hash."""
    LOG_GAP = "log_gap"
    """Positions of a source's log that never came (no case: `version` is the first)."""
    UNCARRIED = "uncarried"
    """An event the transport could not carry (over its size limit)."""


@dataclass(frozen=True)
class Entry:
    """One record: what broke, where it came from, and the evidence."""

    case: str
    """The case (aggregate) id; empty for a gap in a source's log."""
    source: str
    version: int
    """The version that broke; for a log gap or an uncarried event, the position."""
    reason: Reason
    detail: str
    held_hash: str = ""
    """Where two copies met: the hash of the copy this node holds."""
    received_hash: str = ""
    """The hash of the copy that arrived (or, for a broken link, the hash it follows)."""
    first_seen: datetime | None = None
    held_events: int = 0
    """How many received events of the case are held back here."""


class Quarantine:
    """The node's record of quarantined cases and the events held with them."""

    def __init__(self, path: str = ":memory:", clock: Callable[[], datetime] | None = None) -> None:
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._cases = {
            case for (case,) in self._db.execute("SELECT DISTINCT case_id FROM quarantined")
        }
        self._cases.discard("")
        self._observers: list[Callable[[Entry], None]] = []

    def observe(self, observer: Callable[[Entry], None]) -> None:
        """Call `observer` with each entry the first time it is recorded."""
        self._observers.append(observer)

    def holds(self, case: str) -> bool:
        """Whether events of `case` are held here rather than applied."""
        return case in self._cases

    def record(self, entry: Entry) -> bool:
        """Record `entry`; False if the same case, source, version and reason are
        recorded already (the first record, and its time, stay)."""
        seen = entry.first_seen or self._clock()
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO quarantined VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    entry.case,
                    entry.source,
                    entry.version,
                    str(entry.reason),
                    entry.detail,
                    entry.held_hash,
                    entry.received_hash,
                    seen.isoformat(),
                ),
            )
            new = cursor.rowcount == 1
            if entry.case:
                self._cases.add(entry.case)
        if new:
            for observer in self._observers:
                observer(dataclasses.replace(entry, first_seen=seen))
        return new

    def hold(self, source: str, position: int, event: StoredEvent) -> None:
        """Keep a received event of a quarantined case, with its position at the
        source (0: handed over); the same one again changes nothing."""
        case = str(event.originator_id)
        row = (case, source, position, event.originator_version, event.topic, event.state)
        with self._lock, self._db:
            (count,) = self._db.execute(
                "SELECT COUNT(*) FROM held WHERE case_id = ? AND source = ?", (case, source)
            ).fetchone()
            if count < _HELD_PER_CASE:
                self._db.execute("INSERT OR IGNORE INTO held VALUES (?, ?, ?, ?, ?, ?)", row)
                return
            self._db.execute(
                "INSERT INTO held_over VALUES (?, ?, 1) ON CONFLICT (case_id, source) "
                "DO UPDATE SET dropped = dropped + 1",
                (case, source),
            )

    def entries(self) -> list[Entry]:
        """Every record, oldest first, each with the count of its case's held events."""
        with self._lock:
            rows = self._db.execute(
                "SELECT q.case_id, q.source, q.version, q.reason, q.detail, q.held_hash, "
                "q.received_hash, q.first_seen, "
                "(SELECT COUNT(*) FROM held h WHERE h.case_id = q.case_id AND q.case_id != '')"
                " + COALESCE((SELECT SUM(dropped) FROM held_over o WHERE o.case_id = q.case_id),"
                " 0) "
                "FROM quarantined q ORDER BY q.first_seen, q.case_id, q.version"
            ).fetchall()
        return [
            Entry(
                case=case,
                source=source,
                version=version,
                reason=Reason(reason),
                detail=detail,
                held_hash=held_hash,
                received_hash=received_hash,
                first_seen=datetime.fromisoformat(first_seen),
                held_events=held,
            )
            for (
                case,
                source,
                version,
                reason,
                detail,
                held_hash,
                received_hash,
                first_seen,
                held,
            ) in rows
        ]

    def held(self, case: str) -> list[tuple[str, int, int, str, bytes]]:
        """The events of `case` held here: (source, position, version, topic, state)."""
        with self._lock:
            return list(
                self._db.execute(
                    "SELECT source, position, version, topic, state FROM held "
                    "WHERE case_id = ? ORDER BY source, position, version",
                    (case,),
                )
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()
