"""Client request ids are unique per node, across cases and commands.

A request id names one request: retried with the same content it returns
the first result and appends nothing (the case's events record it); sent
again for another case, or for another command, it is refused
(`RequestReused`, ALREADY_EXISTS on the wire). A case's own events can only
tell the second kind on the same case; the node-wide rule needs an index of
every id the node has taken, which this module keeps: request id -> (case
id, request digest), in a small SQLite file of the node's own (next to its
subject keys, for either event store).

A command takes its id (`claim`) under its case's lock, before its events
are written. A claim is only as good as the events that follow it: one left
behind by a command that was then refused, or cut off by a crash, or whose
store was emptied, names a case that never recorded the id. Such a stale
claim is taken over (compare-and-set, so two takers cannot both win) and
does not block the id; a live one (its case recorded the id, or a command on
that case is running now) does.

The file is written with `synchronous=NORMAL`: a claim survives the process
being killed; after a power loss the last claims may be gone, and an id taken
in that instant could be reused once. Ids taken before this index existed
are not in it.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from eventsourcing.persistence import OperationalError

from caseledger.ledger.errors import RequestReused

_ATTEMPTS = 4


@dataclass(frozen=True)
class Claim:
    """Who holds a request id: the case it is for and the digest of the request's content."""

    case_id: UUID
    digest: str


class RequestIds(Protocol):
    def claim(self, request_id: str, claim: Claim) -> Claim:
        """Record `claim` unless the id is held already; the claim that holds it now."""
        ...

    def replace(self, request_id: str, held: Claim, claim: Claim) -> bool:
        """Put `claim` in the place of `held`, if `held` still holds the id."""
        ...

    def close(self) -> None: ...


def take(
    ids: RequestIds,
    request_id: str,
    mine: Claim,
    recorded_by: Callable[[UUID], bool],
) -> None:
    """Hold `request_id` for `mine`, or raise `RequestReused` if another case or
    another request holds it. `recorded_by(case)` says whether that case has
    recorded the id (or may be recording it right now)."""
    for _ in range(_ATTEMPTS):
        held = ids.claim(request_id, mine)
        if held == mine:
            return
        if recorded_by(held.case_id):
            raise RequestReused(request_id)
        if ids.replace(request_id, held, mine):
            return  # a stale claim, taken over
    raise RequestReused(request_id)


class MemoryRequestIds:
    """For a ledger without a node around it (tests, throwaway runs)."""

    def __init__(self) -> None:
        self._held: dict[str, Claim] = {}
        self._lock = threading.Lock()

    def claim(self, request_id: str, claim: Claim) -> Claim:
        with self._lock:
            return self._held.setdefault(request_id, claim)

    def replace(self, request_id: str, held: Claim, claim: Claim) -> bool:
        with self._lock:
            if self._held.get(request_id) != held:
                return False
            self._held[request_id] = claim
            return True

    def close(self) -> None:
        pass


class SQLiteRequestIds:
    def __init__(self, path: str) -> None:
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA busy_timeout=10000")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS request_ids "
            "(request_id TEXT PRIMARY KEY, case_id TEXT NOT NULL, digest TEXT NOT NULL)"
        )

    def claim(self, request_id: str, claim: Claim) -> Claim:
        with self._lock, _store_errors():
            inserted = self._conn.execute(
                "INSERT OR IGNORE INTO request_ids (request_id, case_id, digest) VALUES (?, ?, ?)",
                (request_id, str(claim.case_id), claim.digest),
            )
            if inserted.rowcount == 1:
                return claim  # a new id, the usual case: no need to read it back
            row = self._conn.execute(
                "SELECT case_id, digest FROM request_ids WHERE request_id = ?", (request_id,)
            ).fetchone()
        return Claim(UUID(row[0]), row[1])

    def replace(self, request_id: str, held: Claim, claim: Claim) -> bool:
        with self._lock, _store_errors():
            cursor = self._conn.execute(
                "UPDATE request_ids SET case_id = ?, digest = ? "
                "WHERE request_id = ? AND case_id = ? AND digest = ?",
                (str(claim.case_id), claim.digest, request_id, str(held.case_id), held.digest),
            )
        return cursor.rowcount == 1

    def close(self) -> None:
        with self._lock:
            self._conn.close()


@contextmanager
def _store_errors() -> Iterator[None]:
    """SQLite's operational errors (a full disk, a locked file) as the persistence
    library's, which the node's boundary turns into a status."""
    try:
        yield
    except sqlite3.OperationalError as error:
        raise OperationalError(error) from error
