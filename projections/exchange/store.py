"""The exchange's tables and their tracking, in a database (or schema) of their own.

The stage tables (`tables.py`) sit beside the library's `tracking` table, so
a batch's rows and the position it reached in its upstream log are one
transaction, as in the `cases` view: a batch counts once or not at all.
They are kept where the node's views are: a SQLite file of their own, or a
PostgreSQL schema of their own beside the views' schema (their `tracking`
table records the same upstreams' names as the views', so the two cannot
share one schema); the views' read-only role may read them.

Every transaction that changes at least one row takes the next **batch
number** (table `exchange_batches`) and stamps each row it writes with it
(`sync_batch`; `first_batch` keeps the batch that wrote the row first). A
reader that pulled everything up to batch N asks for `sync_batch > N` next
time: batches are numbered inside the write transaction, and writers take
turns (the datastore lets one writer in at a time), so a batch number a
reader can see was committed after every smaller one, and nothing committed
later can get a number at or below one the reader has seen. PostgreSQL lets
writers in side by side: there a transaction locks `exchange_batches`
(EXCLUSIVE: readers go on reading, the next writer waits) before it takes
its number and holds the lock until it commits. Without it two writers could
take numbers 5 and 6 and commit 6 first; a reader pulling then would resume
from 6 and never see 5. A sequence would not do either, for the same reason:
its numbers are handed out in order but committed in any order. A row changed
again after a pull is read again, in its newest state and marked `U`; one
first written after the pull is marked `I`.

The tables live in the database of a `CaseViews` of their own, so the
node's one `Follower` runs the exchange like the `cases` view (whose
`cases` table stays empty here). The SQL is kept to what
SQLite and PostgreSQL share (`INSERT ... ON CONFLICT DO UPDATE`, no
`INSERT OR REPLACE`); only the placeholders and the tables' schema differ
(`_Dialect`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import Tracking

from caseledger.ledger.timelimits.calendar import WorkingCalendar
from caseledger.projections.exchange.rows import CaseRows, Row, StageRows
from caseledger.projections.exchange.tables import STAGE_TABLES, StageTable
from caseledger.projections.postgres_store import READER_ROLE, PostgresCaseViews
from caseledger.projections.store import CaseViews, SQLiteCaseViews

__all__ = ["Change", "ExchangeBatch", "ExchangeViews"]


@dataclass(frozen=True)
class Change:
    """A row as a reader pulls it: `operation` is `I` for a row first written
    after the reader's position, `U` for one it may have seen before."""

    table: str
    batch: int
    operation: str
    row: Row


class _Dialect:
    """How the shared SQL reads in one store: `{t}` before a table's name
    becomes its schema (PostgreSQL) or nothing (SQLite), `?` the placeholder."""

    def __init__(self, schema: str = "") -> None:
        # A views schema is a plain lower-case name (`SCHEMA_NAME`), quoted all the same.
        self.schema = schema
        self._prefix = f'"{schema}".' if schema else ""
        self._placeholder = "%s" if schema else "?"

    def __call__(self, statement: str) -> str:
        return statement.replace("{t}", self._prefix).replace("?", self._placeholder)


def _create_statements() -> list[str]:
    return [
        "CREATE TABLE IF NOT EXISTS {t}exchange_batches (batch BIGINT PRIMARY KEY, "
        "upstream TEXT NOT NULL, position BIGINT NOT NULL)",
        # Each case's rows as last written and what its next event needs (JSON).
        "CREATE TABLE IF NOT EXISTS {t}exchange_cases (case_id TEXT PRIMARY KEY, "
        "version BIGINT NOT NULL, state TEXT NOT NULL)",
        *(statement for table in STAGE_TABLES for statement in _ddl(table)),
    ]


def _ddl(table: StageTable) -> list[str]:
    columns = [f"{c.name} {'BIGINT' if c.integer else 'TEXT NOT NULL'}" for c in table.columns]
    keys = ", ".join(table.key_names)
    return [
        f"CREATE TABLE IF NOT EXISTS {{t}}{table.sql_name} ({', '.join(columns)}, "
        f"first_batch BIGINT NOT NULL, sync_batch BIGINT NOT NULL, PRIMARY KEY ({keys}))",
        # An index is made in its table's schema: its own name takes none.
        f"CREATE INDEX IF NOT EXISTS {table.sql_name}_sync ON {{t}}{table.sql_name} (sync_batch)",
    ]


def _upsert_statement(table: StageTable) -> str:
    names = [c.name for c in table.columns]
    updates = ", ".join(f"{n} = excluded.{n}" for n in (*table.data_names, "sync_batch"))
    return (
        f"INSERT INTO {{t}}{table.sql_name} ({', '.join(names)}, first_batch, sync_batch) "
        f"VALUES ({', '.join('?' * (len(names) + 2))}) "
        f"ON CONFLICT ({', '.join(table.key_names)}) DO UPDATE SET {updates}"
    )


_UPSERTS = {table.name: _upsert_statement(table) for table in STAGE_TABLES}
_COLUMN_NAMES = {table.name: [c.name for c in table.columns] for table in STAGE_TABLES}
_STATE_UPSERT = (
    "INSERT INTO {t}exchange_cases (case_id, version, state) VALUES (?, ?, ?) "
    "ON CONFLICT (case_id) DO UPDATE SET version = excluded.version, state = excluded.state"
)


class ExchangeBatch:
    """One transaction's writes: rows compared with those written last, the
    changed ones written under one batch number (taken on the first change).

    Writes are held until the batch ends (`flush`) and then made one statement
    per table: a batch touches hundreds of cases, each a few rows."""

    def __init__(self, cursor: Any, sql: _Dialect, upstream: str, position: int) -> None:
        self._cursor = cursor
        self._sql = sql
        self._upstream = upstream
        self._position = position
        self._number: int | None = None
        self._rows: dict[str, list[tuple[object, ...]]] = {t.name: [] for t in STAGE_TABLES}
        self._states: dict[str, tuple[str, int, str]] = {}

    @property
    def number(self) -> int | None:
        """The batch number, once a row changed."""
        return self._number

    def _take_number(self) -> int:
        if self._number is None:
            c, sql = self._cursor, self._sql
            if sql.schema:
                # Held until this transaction ends: numbers are committed in order
                # (the module's docstring says why).
                c.execute(sql("LOCK TABLE {t}exchange_batches IN EXCLUSIVE MODE"))
            c.execute(sql("SELECT COALESCE(MAX(batch), 0) + 1 AS taken FROM {t}exchange_batches"))
            self._number = int(c.fetchone()["taken"])
            c.execute(
                sql("INSERT INTO {t}exchange_batches (batch, upstream, position) VALUES (?, ?, ?)"),
                (self._number, self._upstream, self._position),
            )
        return self._number

    def case(self, case_id: str, calendar: WorkingCalendar) -> CaseRows:
        """The case's rows as far as they were written (none for a new case)."""
        held = self._states.get(case_id)
        if held is not None:
            return CaseRows.from_json(json.loads(held[2]), calendar)
        self._cursor.execute(
            self._sql("SELECT state FROM {t}exchange_cases WHERE case_id = ?"), (case_id,)
        )
        found = self._cursor.fetchone()
        if found is None:
            return CaseRows(calendar)
        return CaseRows.from_json(json.loads(found["state"]), calendar)

    def write_case(self, case_id: str, case: CaseRows, before: StageRows) -> int:
        """Write the case's rows that differ from `before` (those written last
        time) and its state; how many rows."""
        written = 0
        for table in STAGE_TABLES:
            earlier = before[table.name]
            names = _COLUMN_NAMES[table.name]
            for key, row in case.rows[table.name].items():
                if earlier.get(key) == row:
                    continue
                batch = self._take_number()
                self._rows[table.name].append((*(row[n] for n in names), batch, batch))
                written += 1
        state = json.dumps(case.to_json(), ensure_ascii=False, separators=(",", ":"))
        self._states[case_id] = (case_id, case.version, state)
        return written

    def flush(self) -> None:
        """Make the writes held so far."""
        for name, rows in self._rows.items():
            if rows:
                self._cursor.executemany(self._sql(_UPSERTS[name]), rows)
                rows.clear()
        if self._states:
            self._cursor.executemany(self._sql(_STATE_UPSERT), list(self._states.values()))
            self._states.clear()


class ExchangeViews:
    """The stage tables of a node's upward exchange, in the database (SQLite)
    or schema (PostgreSQL) of a `CaseViews` whose tracking table records the
    exchange's positions.

    The node's `Follower` runs a `CaseProjection` over a `CaseViews`; the
    exchange is one (`ExchangeProjection`) over views of its own, whose `cases`
    table stays empty and whose transactions also write the stage tables.
    """

    def __init__(self, views: CaseViews) -> None:
        if isinstance(views, PostgresCaseViews):
            self._sql = _Dialect(views.datastore.schema)
        elif isinstance(views, SQLiteCaseViews):
            self._sql = _Dialect()
        else:
            raise TypeError(f"the exchange keeps its tables in SQLite or PostgreSQL, not {views}")
        self.views = views
        with self._transaction(commit=True) as c:
            for statement in _create_statements():
                c.execute(self._sql(statement))
            if self._sql.schema:
                # The views granted their reader what was there when they opened,
                # before the stage tables were.
                c.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (READER_ROLE,))
                if c.fetchone() is not None:
                    c.execute(
                        f'GRANT SELECT ON ALL TABLES IN SCHEMA "{self._sql.schema}" '
                        f"TO {READER_ROLE}"
                    )

    @classmethod
    def open(cls, location: str, schema: str = "") -> ExchangeViews:
        """The exchange at `location`: a SQLite database (a file, or a shared
        in-memory URI), or `schema` of the PostgreSQL database at a DSN."""
        # Not `rebuildable`: a reader that pulled batch N resumes after N, so a
        # batch it saw must not be lost to a power loss and its number taken
        # again by other rows (the follower's pacing keeps these fsyncs few).
        return cls(CaseViews.open(location, schema, rebuildable=False))

    def _transaction(self, *, commit: bool) -> AbstractContextManager[Any]:
        return self.views._transaction(commit=commit)

    def close(self) -> None:
        self.views.close()

    def position(self, upstream: str) -> int:
        return self.views.position(upstream)

    @contextmanager
    def batch(self, upstream: str, position: int) -> Iterator[ExchangeBatch]:
        """One transaction: the rows written and `position` in `upstream`
        (IntegrityError, nothing written, when it is not past the recorded one)."""
        with self._transaction(commit=True) as c:
            batch = ExchangeBatch(c, self._sql, upstream, position)
            yield batch
            batch.flush()
            self.views._track(c, Tracking(upstream, position))

    def head(self) -> int:
        """The last batch committed (0: none)."""
        with self._transaction(commit=False) as c:
            c.execute(self._sql("SELECT COALESCE(MAX(batch), 0) AS head FROM {t}exchange_batches"))
            return int(c.fetchone()["head"])

    def changes(
        self,
        table: StageTable,
        *,
        since: int,
        upto: int,
        subtree: str = "",
        after: Sequence[object] = (),
        limit: int = 1000,
    ) -> list[Change]:
        """Rows of `table` written in batches `since` < batch <= `upto` by a node
        of `subtree` (a division prefix), in (batch, key) order, after the
        (batch, *key) `after` names, at most `limit`."""
        names = [c.name for c in table.columns]
        order = ("sync_batch", *table.key_names)
        clauses = ["sync_batch > ?", "sync_batch <= ?", "department LIKE ?"]
        params: list[object] = [since, upto, subtree + "%"]
        if after:
            # (a, b, c) > (x, y, z), spelled out: row values compare alike in both
            # databases, but their planners use the index only for this form.
            alternatives = []
            for i in range(len(order)):
                terms = [f"{order[j]} = ?" for j in range(i)] + [f"{order[i]} > ?"]
                alternatives.append("(" + " AND ".join(terms) + ")")
                params.extend([*after[:i], after[i]])
            clauses.append("(" + " OR ".join(alternatives) + ")")
        sql = (
            f"SELECT {', '.join(names)}, first_batch, sync_batch FROM {{t}}{table.sql_name} "
            f"WHERE {' AND '.join(clauses)} ORDER BY {', '.join(order)} LIMIT {int(limit)}"
        )
        with self._transaction(commit=False) as c:
            c.execute(self._sql(sql), params)
            return [
                Change(
                    table.name,
                    int(r["sync_batch"]),
                    "I" if int(r["first_batch"]) > since else "U",
                    {name: r[name] for name in names},
                )
                for r in c.fetchall()
            ]
