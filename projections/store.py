"""The tables of a node's views and their tracking, in SQLite or PostgreSQL.

The view store is one of the library's tracking recorders with the `cases`
table beside its `tracking` table: a batch's rows and the position it
reached in its upstream log are written in one transaction, so a batch
counts once or not at all, and a redelivered batch (at or below the
recorded position) is refused by the tracking row and changes nothing.
`CaseViews` holds the queries both stores share; `SQLiteCaseViews` keeps
them in one file, `PostgresCaseViews` (projections/postgres_store.py) in a
schema of a PostgreSQL database. `CaseViews.open` picks by the location:
a `postgresql://` DSN, or else a SQLite file name.

`cases` is documented for reporting tools that read it with SQL
(docs/reporting-schema.md): a row per held case, the columns a filter
needs as columns, everything else in `facts` (JSON of `CaseFacts`).
`version` is the last version folded; `seen` the highest version any log
delivered, which is ahead of `version` while earlier versions are still on
their way.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

from eventsourcing import sqlite as library
from eventsourcing.persistence import Tracking, TrackingRecorder
from eventsourcing.sqlite import SQLiteConnection, SQLiteConnectionPool, SQLiteDatastore

from caseledger.projections.facts import CaseFacts

__all__ = ["CaseFilter", "CaseRow", "CaseViews", "SQLiteCaseViews", "ViewBatch", "is_dsn"]

CASE_COLUMNS = (
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

    def __init__(self, views: CaseViews, cursor: Any) -> None:
        self._views = views
        self._cursor = cursor
        self._touched: dict[str, CaseRow | None] = {}
        self._written: dict[str, CaseRow] = {}

    def row(self, case_id: str) -> CaseRow | None:
        if case_id in self._touched:
            return self._touched[case_id]
        self._cursor.execute(
            self._views.sql("SELECT {facts} AS facts, seen FROM {cases} WHERE case_id = ?"),
            (case_id,),
        )
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
        if self._written:
            self._cursor.executemany(
                self._views.upsert_statement(),
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


def is_dsn(location: str) -> bool:
    """Whether a views location names a PostgreSQL database rather than a SQLite file."""
    return location.startswith(("postgresql://", "postgres://"))


class CaseViews(TrackingRecorder, ABC):
    """The `cases` table and the positions reached in each upstream log.

    The SQL is written once, with `?` placeholders and `{cases}`/`{facts}`
    for the table and the facts column as text; each store says how that
    reads in its dialect (`sql`).
    """

    @staticmethod
    def open(location: str, schema: str = "", *, rebuildable: bool = True) -> CaseViews:
        """The views at `location`, tables made: a PostgreSQL DSN (`postgresql://...`,
        in `schema`) or a SQLite database (a file, or a shared in-memory URI).

        `rebuildable`: a SQLite file may lose its last batches to a power loss
        and have them written again from the logs (`_RebuildablePool`); with
        False every batch is on the disk when it commits."""
        if is_dsn(location):
            from caseledger.projections.postgres_store import PostgresCaseViews

            return PostgresCaseViews.connect(location, schema)
        if schema:
            raise ValueError("a schema applies to PostgreSQL views only")
        return SQLiteCaseViews.connect(location, rebuildable=rebuildable)

    @abstractmethod
    def sql(self, statement: str) -> str:
        """`statement` in this store's dialect."""

    @abstractmethod
    def upsert_statement(self) -> str:
        """Insert a row of `cases` or replace the one with its case id."""

    @abstractmethod
    def _transaction(self, *, commit: bool) -> AbstractContextManager[Any]:
        """A cursor inside one transaction, committed at the end if `commit`."""

    @abstractmethod
    def _track(self, cursor: Any, tracking: Tracking) -> None:
        """Record `tracking` in the transaction of `cursor` (IntegrityError if not past)."""

    @abstractmethod
    def close(self) -> None:
        """Let go of the database."""

    @contextmanager
    def batch(self, upstream: str, position: int) -> Iterator[ViewBatch]:
        """One transaction: the rows the caller writes and `position` in `upstream`.

        Raises IntegrityError (nothing written) when `position` is not past
        the recorded one.
        """
        with self._transaction(commit=True) as c:
            batch = ViewBatch(self, c)
            yield batch
            batch.flush()
            self._track(c, Tracking(upstream, position))

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
        sql = f"SELECT {{facts}} AS facts FROM {{cases}} WHERE {' AND '.join(clauses)} "
        sql += "ORDER BY case_id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._transaction(commit=False) as c:
            c.execute(self.sql(sql), params)
            return [CaseFacts.from_json(json.loads(r["facts"])) for r in c.fetchall()]

    def item_codes(self, where: CaseFilter | None = None) -> list[str]:
        """The distinct items of the folded cases `where` selects (its subtree only)."""
        subtree = (where or CaseFilter()).subtree
        with self._transaction(commit=False) as c:
            c.execute(
                self.sql(
                    "SELECT DISTINCT item_code FROM {cases} WHERE version > 0 "
                    "AND (owner LIKE ? OR received_by LIKE ?) ORDER BY item_code"
                ),
                (subtree + "%", subtree + "%"),
            )
            return [str(r["item_code"]) for r in c.fetchall()]

    def all_rows(self) -> Sequence[tuple[str, int, int, str]]:
        """Every row as (case id, version, seen, facts JSON): for comparing two views."""
        with self._transaction(commit=False) as c:
            c.execute(
                self.sql(
                    "SELECT case_id, version, seen, {facts} AS facts FROM {cases} ORDER BY case_id"
                )
            )
            return [
                (r["case_id"], int(r["version"]), int(r["seen"]), r["facts"]) for r in c.fetchall()
            ]


class _RebuildablePool(SQLiteConnectionPool):
    """Connections that commit without waiting for the disk (`synchronous=NORMAL`).

    A view is rebuilt from the node's logs, which are written with
    `synchronous=FULL`: a power loss may take the last batches of a view's
    write-ahead log with them, and their tracking position with them, so the
    follower reads those events again from the logs and writes the same rows.
    A process crash loses nothing (WAL mode: the commit is in the file, only
    not yet on the disk), and the file stays consistent either way. What is
    saved is an fsync per batch.

    Only for stores whose readers are handed no position into them: the
    exchange's batch numbers are (`ExchangeViews`), so it commits to the disk.
    """

    def _create_connection(self) -> SQLiteConnection:
        connection = super()._create_connection()
        connection.cursor().execute("PRAGMA synchronous=NORMAL")
        return connection


class _RebuildableDatastore(SQLiteDatastore):
    """A datastore whose connections come from `_RebuildablePool`."""

    def __init__(self, db_name: str, lock_timeout: int) -> None:
        super().__init__(db_name, lock_timeout=lock_timeout)
        self.pool.close()  # made by the library, empty: replaced before any use
        self.pool = _RebuildablePool(db_name=db_name, lock_timeout=lock_timeout)


class SQLiteCaseViews(CaseViews, library.SQLiteTrackingRecorder):
    """The views in one SQLite database: written with `synchronous=NORMAL` when
    `rebuildable` (`_RebuildablePool` says why that loses nothing)."""

    @classmethod
    def connect(cls, db_name: str, *, rebuildable: bool = True) -> SQLiteCaseViews:
        """The views in database `db_name` (a file, or a shared in-memory URI), tables made."""
        datastore = (
            _RebuildableDatastore(db_name, lock_timeout=10)
            if rebuildable
            else SQLiteDatastore(db_name, lock_timeout=10)
        )
        views = cls(datastore)
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

    def sql(self, statement: str) -> str:
        return statement.format(cases="cases", facts="facts")

    def upsert_statement(self) -> str:
        return f"INSERT OR REPLACE INTO cases ({CASE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"

    def _transaction(self, *, commit: bool) -> AbstractContextManager[Any]:
        return self.datastore.transaction(commit=commit)

    def _track(self, cursor: Any, tracking: Tracking) -> None:
        self._insert_tracking(cursor, tracking)

    def close(self) -> None:
        self.datastore.close()
