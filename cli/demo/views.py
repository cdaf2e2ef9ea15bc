"""`--views postgres`: the demo's nodes keep their views in a PostgreSQL database.

Each node of the run gets its schemas `<run>_views_<code>` and
`<run>_exchange_<code>` there, so runs never meet; a run that succeeded
drops its schemas, one that failed keeps them beside its folder. The
server is the one `--views-dsn` or CASELEDGER_POSTGRES names, or else the
checkout's, started by `docker/services.py` (`network.postgres_server`).
"""

from __future__ import annotations

import psycopg
from psycopg import sql

VIEWS_UNREACHABLE = 9
"""Exit status when the views' database does not answer (as `audit`'s unreachable)."""

CONNECT_TIMEOUT_S = 5


class ViewsUnreachable(Exception):
    """No PostgreSQL answers at the DSN the demo was given."""


def _without_password(dsn: str) -> str:
    parts = psycopg.conninfo.conninfo_to_dict(dsn)
    parts.pop("password", None)
    return psycopg.conninfo.make_conninfo(**parts)  # type: ignore[arg-type]


def check_reachable(dsn: str) -> None:
    """Raise `ViewsUnreachable`, saying why, unless a session opens at `dsn`."""
    try:
        with psycopg.connect(dsn, connect_timeout=CONNECT_TIMEOUT_S) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as error:
        raise ViewsUnreachable(
            f"no PostgreSQL answers at {_without_password(dsn)} for the views: "
            f"{str(error).strip()}; start one with `python docker/services.py start postgres` "
            "or name one with --views-dsn or CASELEDGER_POSTGRES"
        ) from error
    except ValueError as error:
        raise ViewsUnreachable(f"--views-dsn is not a connection URI: {error}") from error


def run_schemas(dsn: str, run: str) -> list[str]:
    """The schemas of the run `run`: each node's views and its exchange."""
    with psycopg.connect(dsn, connect_timeout=CONNECT_TIMEOUT_S) as connection:
        rows = connection.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s OR nspname LIKE %s ORDER BY 1",
            (f"{run}\\_views\\_%", f"{run}\\_exchange\\_%"),
        ).fetchall()
    return [str(row[0]) for row in rows]


def drop_run_schemas(dsn: str, run: str) -> int:
    """Drop the schemas of the run `run`; how many there were."""
    schemas = run_schemas(dsn, run)
    with psycopg.connect(dsn, connect_timeout=CONNECT_TIMEOUT_S) as connection:
        for schema in schemas:
            connection.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {0} CASCADE").format(sql.Identifier(schema))
            )
    return len(schemas)
