"""The reporting schema (docs/reporting-schema.md): `psql` reads it as the read-only role.

A reporting tool logs in as a role that is a member of `caseledger_reader`
(`python -m caseledger.nodes views-reader` makes it and grants it every
views schema); it reads the documented tables with plain SQL and can change
nothing.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
from uuid import uuid4

import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from caseledger.projections.postgres_store import READER_ROLE, PostgresCaseViews
from tests.projections.histories import PROVINCE, START, case_mapper, simulate
from tests.projections.stores import NodeStores, ViewStore, postgres_dsn

pytestmark = pytest.mark.postgres

NETWORK = [PROVINCE, "370100000000", "370102000000", "370102001000"]


def _psql(dsn: str, statement: str) -> subprocess.CompletedProcess[str]:
    psql = shutil.which("psql")
    assert psql is not None, "psql not found: install Debian's postgresql-client"
    return subprocess.run(
        [psql, dsn, "-v", "ON_ERROR_STOP=1", "-tAc", statement],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def _as(dsn: str, role: str) -> str:
    parts = conninfo_to_dict(dsn)
    parts["user"] = role
    return make_conninfo(**parts)  # type: ignore[arg-type]


def test_psql_reads_the_documented_tables_as_the_reader_and_writes_nothing() -> None:
    dsn = postgres_dsn()
    store = ViewStore("postgres")
    reporter = f"report_tool_{uuid4().hex[:8]}"
    try:
        views = store.fresh()
        events = simulate(random.Random(5), NETWORK, 10, START)
        stores = NodeStores(PROVINCE, events, case_mapper())
        projection = stores.projection(views)
        stores.commit_all()
        for log in ("authored", "received"):
            stores.deliver(projection, log, 10_000)
        assert isinstance(views, PostgresCaseViews)
        schema = views.datastore.schema

        granted = subprocess.run(
            [sys.executable, "-m", "caseledger.nodes", "views-reader", "--dsn", dsn],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert granted.returncode == 0, granted.stderr
        assert schema in granted.stdout
        made = _psql(dsn, f"CREATE ROLE {reporter} LOGIN IN ROLE {READER_ROLE}")
        assert made.returncode == 0, made.stderr
        reader = _as(dsn, reporter)

        by_level = _psql(
            reader,
            f"SELECT left(received_by, 4), count(*) FROM {schema}.cases "
            "WHERE version > 0 GROUP BY 1 ORDER BY 1",
        )
        assert by_level.returncode == 0, by_level.stderr
        counted = {line.split("|")[0]: int(line.split("|")[1]) for line in by_level.stdout.split()}
        assert sum(counted.values()) == len({e.originator_id for e in events})
        channel = _psql(reader, f"SELECT facts->>'channel' FROM {schema}.cases LIMIT 1")
        assert channel.returncode == 0, channel.stderr
        assert channel.stdout.strip()
        tracked = _psql(reader, f"SELECT application_name FROM {schema}.tracking ORDER BY 1")
        assert "authored" in tracked.stdout.split()

        for change in (
            f"DELETE FROM {schema}.cases",
            f"UPDATE {schema}.tracking SET notification_id = 0",
            f"CREATE TABLE {schema}.mine (x int)",
        ):
            refused = _psql(reader, change)
            assert refused.returncode != 0, change
            assert "permission denied" in refused.stderr, refused.stderr
    finally:
        store.close_all()
        _psql(dsn, f"DROP ROLE IF EXISTS {reporter}")
