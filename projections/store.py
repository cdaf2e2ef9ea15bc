"""The tables of a node's views and their tracking, in one SQLite database.

The view store is the library's SQLite tracking recorder with the `cases`
table beside its `tracking` table: a batch's rows and the position it
reached in its upstream log are written in one transaction, so a batch
counts once or not at all, and a redelivered batch (at or below the
recorded position) is refused by the tracking row and changes nothing.

`cases` is documented for reporting tools that read it with SQL
(docs/projections.md): a row per held case, the columns a filter needs as
columns, everything else in `facts` (JSON of `CaseFacts`). `version` is
the last version folded; `seen` the highest version any log delivered,
which is ahead of `version` while earlier versions are still on their way.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from eventsourcing import sqlite as library
from eventsourcing.persistence import Tracking
from eventsourcing.sqlite import SQLiteCursor, SQLiteDatastore

from caseledger.projections.facts import CaseFacts

__all__ = ["CaseFilter", "CaseRow", "CaseViews", "ViewBatch"]

_COLUMNS = (
    "case_id, version, seen, number, owner, received_by, item_code, status, "
    "submitted_at, accepted_at, concluded_at, facts"
)


@dataclass(frozen=True)
class CaseRow:
    """A row of `cases`: the facts folded so far and the highest version seen."""

    facts: CaseFacts
    seen: int


@dataclass(frozen=True)
class CaseFilter:
    """Which cases to read; every field is optional and they combine with AND.

    `subtree` is a division prefix (`37`, `3701`, `370102`...): a case is in
    it when it was received or is owned there. `submitted_from` and
    `submitted_to` are UTC ISO times, `to` exclusive.
    """

    subtree: str = ""
    status: str = ""
    item_code: str = ""
    submitted_from: str = ""
    submitted_to: str = ""


class ViewBatch:
    """The rows of one batch, read and written inside its transaction.

    A row is read at most once per batch and written once, when the batch
    ends (`flush`): a batch holds several events of most cases it touches,
    and each would otherwise read, decode, encode and write the row again.
    """

    def __init__(self, cursor: SQLiteCursor) -> None:
        self._cursor = cursor
        self._touched: dict[str, CaseRow | None] = {}
        self._written: dict[str, CaseRow] = {}

    def row(self, case_id: str) -> CaseRow | None:
        if case_id in self._touched:
            return self._touched[case_id]
        self._cursor.execute("SELECT facts, seen FROM cases WHERE case_id = ?", (case_id,))
        found = self._cursor.fetchone()
        row = None
        if found is not None:
            row = CaseRow(CaseFacts.from_json(json.loads(found["facts"])), int(found["seen"]))
        self._touched[case_id] = row
        return row

    def put(self, row: CaseRow) -> None:
        self._touched[row.facts.case_id] = row
        self._written[row.facts.case_id] = row

    def flush(self) -> None:
        """Write every row put since the last flush."""
        self._cursor.executemany(
            f"INSERT OR REPLACE INTO cases ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            [_values(row) for row in self._written.values()],
        )
        self._written.clear()


def _values(row: CaseRow) -> tuple[str | int, ...]:
    f = row.facts
    return (
        f.case_id,
        f.version,
        row.seen,
        f.number,
        f.owner,
        f.received_by,
        f.item_code,
        f.status,
        f.submitted_at,
        f.accepted_at,
        f.concluded_at,
        json.dumps(f.to_json(), ensure_ascii=False, separators=(",", ":")),
    )


class CaseViews(library.SQLiteTrackingRecorder):
    """The `cases` table and the positions reached in each upstream log."""

    @classmethod
    def open(cls, db_name: str) -> CaseViews:
        """The views in database `db_name` (a file, or a shared in-memory URI), tables made."""
        views = cls(SQLiteDatastore(db_name, lock_timeout=10))
        views.create_table()
        return views

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            "CREATE TABLE IF NOT EXISTS cases ("
            "case_id TEXT PRIMARY KEY, version INTEGER NOT NULL, seen INTEGER NOT NULL, "
            "number TEXT NOT NULL, owner TEXT NOT NULL, received_by TEXT NOT NULL, "
            "item_code TEXT NOT NULL, status TEXT NOT NULL, submitted_at TEXT NOT NULL, "
            "accepted_at TEXT NOT NULL, concluded_at TEXT NOT NULL, facts TEXT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS cases_owner ON cases (owner)",
            "CREATE INDEX IF NOT EXISTS cases_received_by ON cases (received_by)",
            "CREATE INDEX IF NOT EXISTS cases_submitted_at ON cases (submitted_at)",
        ]

    @contextmanager
    def batch(self, upstream: str, position: int) -> Iterator[ViewBatch]:
        """One transaction: the rows the caller writes and `position` in `upstream`.

        Raises IntegrityError (nothing written) when `position` is not past
        the recorded one.
        """
        with self.datastore.transaction(commit=True) as c:
            batch = ViewBatch(c)
            yield batch
            batch.flush()
            self._insert_tracking(c, Tracking(upstream, position))

    def close(self) -> None:
        self.datastore.close()

    def position(self, upstream: str) -> int:
        """The last position processed in `upstream` (0: none)."""
        return self.max_tracking_id(upstream) or 0

    def rows(
        self,
        where: CaseFilter | None = None,
        *,
        limit: int | None = None,
        after_case: str = "",
    ) -> list[CaseFacts]:
        """The folded cases (those whose first event arrived), by case id."""
        f = where or CaseFilter()
        clauses, params = ["version > 0", "case_id > ?"], [after_case]
        if f.subtree:
            clauses.append("(owner LIKE ? OR received_by LIKE ?)")
            params += [f.subtree + "%"] * 2
        for column, value in (("status", f.status), ("item_code", f.item_code)):
            if value:
                clauses.append(f"{column} = ?")
                params.append(value)
        if f.submitted_from:
            clauses.append("submitted_at >= ?")
            params.append(f.submitted_from)
        if f.submitted_to:
            clauses.append("submitted_at < ?")
            params.append(f.submitted_to)
        sql = f"SELECT facts FROM cases WHERE {' AND '.join(clauses)} ORDER BY case_id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self.datastore.transaction(commit=False) as c:
            c.execute(sql, params)
            return [CaseFacts.from_json(json.loads(r["facts"])) for r in c.fetchall()]

    def item_codes(self, where: CaseFilter | None = None) -> list[str]:
        """The distinct items of the folded cases `where` selects (its subtree only)."""
        subtree = (where or CaseFilter()).subtree
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT DISTINCT item_code FROM cases WHERE version > 0 "
                "AND (owner LIKE ? OR received_by LIKE ?) ORDER BY item_code",
                (subtree + "%", subtree + "%"),
            )
            return [str(r["item_code"]) for r in c.fetchall()]

    def all_rows(self) -> Sequence[tuple[str, int, int, str]]:
        """Every row as (case id, version, seen, facts JSON): for comparing two views."""
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT case_id, version, seen, facts FROM cases ORDER BY case_id")
            return [
                (r["case_id"], int(r["version"]), int(r["seen"]), r["facts"]) for r in c.fetchall()
            ]
