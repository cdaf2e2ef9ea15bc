"""Changing a node's SQLite event store behind its back, as someone with write
access to the file could: deleting an event, replacing its bytes, or
rewriting it with its hash and every later hash of the case recomputed."""

from __future__ import annotations

import contextlib
import dataclasses
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent

from caseledger.ledger.case.events import CaseEvent
from caseledger.ledger.trail.canonical import digest


def _rows(db: sqlite3.Connection, case_id: UUID) -> list[tuple[Any, int, str, bytes]]:
    """The stored rows of one aggregate, whatever form its id is written in."""
    rows = db.execute(
        "SELECT originator_id, originator_version, topic, state FROM stored_events"
    ).fetchall()
    return sorted((r for r in rows if UUID(str(r[0])) == case_id), key=lambda r: r[1])


def stored(database: Path, case_id: UUID) -> list[StoredEvent]:
    with contextlib.closing(sqlite3.connect(database)) as db:
        return [
            StoredEvent(case_id, v, topic, bytes(state))
            for _, v, topic, state in _rows(db, case_id)
        ]


def delete_event(database: Path, case_id: UUID, version: int) -> None:
    with contextlib.closing(sqlite3.connect(database)) as db, db:
        (row,) = [r for r in _rows(db, case_id) if r[1] == version]
        db.execute(
            "DELETE FROM stored_events WHERE originator_id = ? AND originator_version = ?",
            (row[0], version),
        )


def replace_state(database: Path, case_id: UUID, version: int, state: bytes) -> None:
    with contextlib.closing(sqlite3.connect(database)) as db, db:
        (row,) = [r for r in _rows(db, case_id) if r[1] == version]
        db.execute(
            "UPDATE stored_events SET state = ? WHERE originator_id = ? AND originator_version = ?",
            (state, row[0], version),
        )


def rewrite_with_hashes(
    database: Path,
    mapper: Mapper[UUID],
    case_id: UUID,
    version: int,
    change: Callable[[dict[str, Any]], dict[str, Any]],
) -> dict[int, tuple[str, str]]:
    """Change event `version`'s payload and recompute its hash and the `prev_hash`
    and hash of every later event of the case, in place: a self-consistent
    forgery that verifies on its own. Returns version -> (old hash, new hash)."""
    changed: dict[int, tuple[str, str]] = {}
    prev = ""
    for event in stored(database, case_id):
        if event.originator_version < version:
            continue
        decoded = cast(CaseEvent, mapper.to_domain_event(event))
        forged = decoded
        if event.originator_version == version:
            forged = dataclasses.replace(forged, payload=change(dict(decoded.payload)))
        else:
            forged = dataclasses.replace(forged, prev_hash=prev)
        forged = dataclasses.replace(forged, hash="")
        forged = dataclasses.replace(forged, hash=digest(forged.hashed_form()))
        prev = forged.hash
        changed[event.originator_version] = (decoded.hash, forged.hash)
        replace_state(
            database, case_id, event.originator_version, mapper.to_stored_event(forged).state
        )
    return changed


def hash_of(mapper: Mapper[UUID], event: StoredEvent) -> str:
    return cast(CaseEvent, mapper.to_domain_event(event)).hash
