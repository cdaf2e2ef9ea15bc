"""A node's index of its cases by applicant and by licence, kept in its own file.

By applicant (查询): a blind index. What is stored is a keyed hash (HMAC-SHA256)
of the applicant's type and normalised identity number under a key the node
holds apart from this file (`SubjectKeys.index_key`), never the number: whoever
reads the file alone learns which cases share an applicant, not who it is, and
cannot test guesses of identity numbers without the key.

By licence (电子证照标识): which case holds a licence id, so one id is never
issued for two cases of this node. A licence id is claimed before the
certificate event is written and let go if writing it fails; a claim is first
come, first served, which is what makes the check hold between two cases
issuing at once. Beside the claims, the index keeps every licence id the
node has seen issued in its logs (`seen_licences`: its own cases and the
copies it received of its descendants'), so a node also refuses an id a
case of its subtree already holds.

Written with `synchronous=FULL` beside the node's other stores. Applicants
are indexed when a submission succeeds, and the index also follows the
node's logs (`followed`: how far each is read), so a case submitted another
way, or before the index existed, or taken over with its applicant's key,
is found too.
"""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from caseledger.ledger.codes.vocabulary import ApplicantType

MEMORY = ":memory:"


def applicant_token(key: bytes, applicant_type: ApplicantType, identity_number: str) -> bytes:
    """The blind index token of an applicant: `identity_number` already normalised
    (`caseledger.ledger.intake.identity_number`), so every spelling of one number
    gives one token."""
    message = f"{applicant_type.code}:{identity_number}".encode()
    return hmac.new(key, message, hashlib.sha256).digest()


@dataclass(frozen=True)
class Indexed:
    """A case found by applicant: its id and when it was submitted."""

    case_id: UUID
    submitted_at: datetime


class CaseIndex:
    def __init__(self, path: str = MEMORY) -> None:
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        if path != MEMORY:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS applicants (token BLOB NOT NULL, case_id TEXT NOT NULL, "
            "submitted_at TEXT NOT NULL, PRIMARY KEY (token, case_id)) WITHOUT ROWID"
        )
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS followed "
            "(store TEXT PRIMARY KEY, position INTEGER NOT NULL)"
        )
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS licences "
            "(licence_id TEXT PRIMARY KEY, case_number TEXT NOT NULL) WITHOUT ROWID"
        )
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS seen_licences (licence_id TEXT PRIMARY KEY, "
            "case_id TEXT NOT NULL, node TEXT NOT NULL) WITHOUT ROWID"
        )

    # -- by applicant ----------------------------------------------------------

    def add_applicant(self, token: bytes, case_id: UUID, submitted_at: datetime) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT OR IGNORE INTO applicants (token, case_id, submitted_at) VALUES (?, ?, ?)",
                (token, str(case_id), submitted_at.isoformat()),
            )

    def cases_of(self, token: bytes) -> list[Indexed]:
        """The applicant's cases, newest submission first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT case_id, submitted_at FROM applicants WHERE token = ? "
                "ORDER BY submitted_at DESC, case_id",
                (token,),
            ).fetchall()
        return [Indexed(UUID(row[0]), datetime.fromisoformat(row[1])) for row in rows]

    def followed_to(self, store: str) -> int:
        """The last position of `store`'s log whose submissions are indexed (0: none)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT position FROM followed WHERE store = ?", (store,)
            ).fetchone()
        return 0 if row is None else int(row[0])

    def follow(
        self, store: str, entries: list[tuple[bytes, UUID, datetime]], position: int
    ) -> None:
        """Index `entries` read from `store`'s log up to `position`, in one transaction
        (replaying a stretch already indexed adds nothing)."""
        self._follow(
            store,
            "INSERT OR IGNORE INTO applicants (token, case_id, submitted_at) VALUES (?, ?, ?)",
            [(token, str(case), at.isoformat()) for token, case, at in entries],
            position,
        )

    def follow_licences(
        self, store: str, entries: list[tuple[str, UUID, str]], position: int
    ) -> None:
        """Record the licence ids (id, case, node that issued it) read from `store`'s
        log up to `position`, in one transaction; the first case seen with an id keeps it."""
        self._follow(
            store,
            "INSERT OR IGNORE INTO seen_licences (licence_id, case_id, node) VALUES (?, ?, ?)",
            [(licence, str(case), node) for licence, case, node in entries],
            position,
        )

    def licence_seen(self, licence_id: str) -> tuple[UUID, str] | None:
        """The case (and the node that issued it) a followed log shows holding `licence_id`."""
        with self._lock:
            row = self._conn.execute(
                "SELECT case_id, node FROM seen_licences WHERE licence_id = ?", (licence_id,)
            ).fetchone()
        return None if row is None else (UUID(row[0]), str(row[1]))

    def _follow(
        self, store: str, insert: str, rows: list[tuple[object, ...]], position: int
    ) -> None:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(insert, rows)
                self._conn.execute(
                    "INSERT INTO followed (store, position) VALUES (?, ?) ON CONFLICT(store) "
                    "DO UPDATE SET position = MAX(position, excluded.position)",
                    (store, position),
                )
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    # -- by licence -------------------------------------------------------------

    def claim_licence(self, licence_id: str, case_number: str) -> tuple[str, bool]:
        """Claim `licence_id` for the case: the number of the case that holds it
        (this one when the claim was taken, or was its own already), and whether
        this call took it."""
        with self._lock:
            taken = self._conn.execute(
                "INSERT OR IGNORE INTO licences (licence_id, case_number) VALUES (?, ?)",
                (licence_id, case_number),
            ).rowcount
            row = self._conn.execute(
                "SELECT case_number FROM licences WHERE licence_id = ?", (licence_id,)
            ).fetchone()
        return str(row[0]), taken > 0

    def release_licence(self, licence_id: str, case_number: str) -> None:
        """Let a claim go when the certificate was not written after all."""
        with self._lock:
            self._conn.execute(
                "DELETE FROM licences WHERE licence_id = ? AND case_number = ?",
                (licence_id, case_number),
            )

    def licence_holder(self, licence_id: str) -> str | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT case_number FROM licences WHERE licence_id = ?", (licence_id,)
            ).fetchone()
        return None if row is None else str(row[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()
