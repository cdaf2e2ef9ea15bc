"""The views of a node in PostgreSQL: its `cases` and `tracking` tables in a schema of their own.

The library's Postgres tracking recorder, with the same `cases` table as
the SQLite store and the same semantics: a batch's rows and its position
are one transaction; a position not past the recorded one is refused
(IntegrityError) and writes nothing. Each node keeps its views in its own
schema of one database (`views_<code>` by default), so one server holds a
whole network's views and a reporting tool reads any node's with the same
SQL. docs/reporting-schema.md describes the tables, their indexes and the
read-only role for reporting tools (`grant_reader`).

`facts` is stored as `json`, which keeps the text as written (so two
stores compare equal) and still answers `facts->>'channel'`.
"""

from __future__ import annotations

import re
from contextlib import AbstractContextManager
from typing import Any

import psycopg
from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from psycopg.conninfo import conninfo_to_dict
from psycopg.sql import SQL, Identifier

from caseledger.projections.store import CASE_COLUMNS, CaseViews

__all__ = [
    "READER_ROLE",
    "SCHEMA_NAME",
    "PostgresCaseViews",
    "default_schema",
    "drop_schema",
    "grant_reader",
    "rename_schema",
]

SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
"""A schema name the views accept: unquoted, lower case, within PostgreSQL's 63 bytes."""

TRACKING_TABLE = "tracking"
"""The same name as in the SQLite store."""

READER_ROLE = "caseledger_reader"
"""The role reporting tools read the views as: every views schema grants it USAGE and
SELECT on its tables whenever a node opens its views, once the role exists."""


def default_schema(code: str, prefix: str = "") -> str:
    """`views_<code>`, or `<prefix>_views_<code>` for a run of its own."""
    return f"{prefix}_views_{code}" if prefix else f"views_{code}"


def _datastore(dsn: str, schema: str) -> PostgresDatastore:
    """The library's datastore for `dsn`, its recorders' tables in `schema`.

    What the DSN leaves out (its password, say) is left to libpq's own
    defaults (PGPASSWORD, ~/.pgpass, PGUSER ...), not passed as empty text,
    which libpq would take as given.
    """
    parts = conninfo_to_dict(dsn)
    datastore = PostgresDatastore(
        dbname=str(parts.get("dbname", "")),
        host=str(parts.get("host", "127.0.0.1")),
        port=str(parts.get("port", "5432")),
        user=str(parts.get("user", "")),
        password=str(parts.get("password", "")),
        # A follower writes while report handlers read; a connection the server
        # dropped (a restart) is noticed before use, not by the query, and a
        # caller waits out the pool's reconnection backoff after a restart.
        connect_timeout=30,
        pool_size=2,
        max_overflow=8,
        pre_ping=True,
        lock_timeout=10,
        schema=schema,
    )
    given = datastore.pool.kwargs
    assert isinstance(given, dict)
    for key in [key for key, value in given.items() if value == ""]:
        del given[key]
    return datastore


class PostgresCaseViews(CaseViews, PostgresTrackingRecorder):
    """The views in `schema` of the database at a DSN."""

    @classmethod
    def connect(cls, dsn: str, schema: str) -> PostgresCaseViews:
        """The views in `schema` (made when missing) of the database at `dsn`, tables made."""
        if not SCHEMA_NAME.fullmatch(schema):
            raise ValueError(
                f"views schema {schema!r}: a lower-case letter or _ then up to 62 "
                "lower-case letters, digits or _"
            )
        datastore = _datastore(dsn, schema)
        with datastore.transaction(commit=True) as c:
            c.execute(SQL("CREATE SCHEMA IF NOT EXISTS {0}").format(Identifier(schema)))
        views = cls(datastore, tracking_table_name=TRACKING_TABLE)
        views.create_table()
        with datastore.transaction(commit=True) as c:
            c.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (READER_ROLE,))
            if c.fetchone() is not None:
                _grant(c, schema, READER_ROLE)
        return views

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        schema = Identifier(datastore.schema)
        self._cases = SQL("{0}.cases").format(schema).as_string()
        self.sql_create_statements += [
            SQL(statement).format(schema)
            for statement in (
                "CREATE TABLE IF NOT EXISTS {0}.cases ("
                "case_id text PRIMARY KEY, version integer NOT NULL, seen integer NOT NULL, "
                "number text NOT NULL, owner text NOT NULL, received_by text NOT NULL, "
                "item_code text NOT NULL, status text NOT NULL, submitted_at text NOT NULL, "
                "accepted_at text NOT NULL, concluded_at text NOT NULL, facts json NOT NULL)",
                # Subtree filters are prefixes of division codes (LIKE '3701%').
                "CREATE INDEX IF NOT EXISTS cases_owner ON {0}.cases (owner text_pattern_ops)",
                "CREATE INDEX IF NOT EXISTS cases_received_by "
                "ON {0}.cases (received_by text_pattern_ops)",
                "CREATE INDEX IF NOT EXISTS cases_item ON {0}.cases (item_code, submitted_at)",
                "CREATE INDEX IF NOT EXISTS cases_submitted_at ON {0}.cases (submitted_at)",
                "CREATE INDEX IF NOT EXISTS cases_concluded_at ON {0}.cases (concluded_at)",
                # Deadline states are evaluated as of a date over the open cases.
                "CREATE INDEX IF NOT EXISTS cases_status ON {0}.cases (status, owner)",
            )
        ]

    def sql(self, statement: str) -> str:
        return statement.format(cases=self._cases, facts="facts::text").replace("?", "%s")

    def upsert_statement(self) -> str:
        updates = ", ".join(
            f"{column} = EXCLUDED.{column}" for column in CASE_COLUMNS.split(", ")[1:]
        )
        return (
            f"INSERT INTO {self._cases} ({CASE_COLUMNS}) VALUES ({', '.join(['%s'] * 12)}) "
            f"ON CONFLICT (case_id) DO UPDATE SET {updates}"
        )

    def _transaction(self, *, commit: bool) -> AbstractContextManager[Any]:
        return self.datastore.transaction(commit=commit)

    def _track(self, cursor: Any, tracking: Tracking) -> None:
        self._insert_tracking(cursor, tracking)

    def close(self) -> None:
        self.datastore.close()

    def drop(self) -> None:
        """Remove the schema and everything in it (a throwaway run's views)."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                SQL("DROP SCHEMA IF EXISTS {0} CASCADE").format(Identifier(self.datastore.schema))
            )


def drop_schema(dsn: str, schema: str) -> None:
    """Remove `schema` and everything in it, if it exists."""
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(SQL("DROP SCHEMA IF EXISTS {0} CASCADE").format(Identifier(schema)))


def rename_schema(dsn: str, source: str, target: str) -> None:
    """Put `source` in the place of `target` (dropped), in one transaction: a reader
    sees the old views or the new ones, never none."""
    with psycopg.connect(dsn) as connection, connection.transaction():
        connection.execute(SQL("DROP SCHEMA IF EXISTS {0} CASCADE").format(Identifier(target)))
        connection.execute(
            SQL("ALTER SCHEMA {0} RENAME TO {1}").format(Identifier(source), Identifier(target))
        )


def _grant(cursor: Any, schema: str, role: str) -> None:
    for statement in (
        "GRANT USAGE ON SCHEMA {0} TO {1}",
        "GRANT SELECT ON ALL TABLES IN SCHEMA {0} TO {1}",
    ):
        cursor.execute(SQL(statement).format(Identifier(schema), Identifier(role)))


def grant_reader(dsn: str, role: str = READER_ROLE) -> list[str]:
    """Make `role` (NOLOGIN) when missing and let it read every views schema of the
    database (those with a `cases` and a `tracking` table); returns their names.
    Reporting tools log in as roles that are members of it."""
    if not SCHEMA_NAME.fullmatch(role):
        raise ValueError(f"role {role!r}: lower-case letters, digits or _")
    with psycopg.connect(dsn) as connection, connection.transaction():
        cursor = connection.cursor()
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
        if cursor.fetchone() is None:
            cursor.execute(SQL("CREATE ROLE {0} NOLOGIN").format(Identifier(role)))
        cursor.execute(
            "SELECT c.table_schema FROM information_schema.tables c "
            "JOIN information_schema.tables t ON t.table_schema = c.table_schema "
            "AND t.table_name = %s WHERE c.table_name = 'cases' ORDER BY 1",
            (TRACKING_TABLE,),
        )
        schemas = [str(row[0]) for row in cursor.fetchall()]
        for schema in schemas:
            _grant(cursor, schema, role)
    return schemas
