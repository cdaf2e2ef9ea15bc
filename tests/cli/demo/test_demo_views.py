"""`caseledger demo --views postgres`: the same day, its views in PostgreSQL, the same figures."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from caseledger.cli.demo.views import VIEWS_UNREACHABLE
from caseledger.cli.main import cli
from tests.cli.demo.test_demo import free_port_block
from tests.projections.stores import postgres_dsn

_DEMO_NODES = 6
_FIRST_TABLE = "今日办件 the day's cases"
_AUDIT = "审计回放 audit replay"


def _figures(output: str) -> str:
    """What the nodes reported from their views: the day's cases, the per-level
    summary and every level's statistics (the audit that follows has the run's
    own times and hashes)."""
    assert _FIRST_TABLE in output, output
    assert _AUDIT in output, output
    return output[output.index(_FIRST_TABLE) : output.index(_AUDIT)]


def _demo(*options: str) -> str:
    base = free_port_block(_DEMO_NODES)
    result = CliRunner().invoke(cli, ["demo", "--base-port", str(base), *options])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.postgres
def test_the_demo_on_postgresql_views_reports_the_figures_of_the_sqlite_run() -> None:
    on_sqlite = _demo()
    on_postgres = _demo("--views", "postgres", "--views-dsn", postgres_dsn())
    assert "views: PostgreSQL, schemas demo" in on_postgres
    assert "✓ all 10 trails of the day verified" in on_postgres
    assert f"dropped the run's {2 * _DEMO_NODES} schemas (views and exchange)" in on_postgres
    assert _figures(on_postgres) == _figures(on_sqlite)
    assert "10 (1 own + 9 replicated)" in _figures(on_postgres)


def test_the_demo_says_so_when_no_postgresql_answers_and_starts_nothing() -> None:
    result = CliRunner().invoke(
        cli,
        ["demo", "--views", "postgres", "--views-dsn", "postgresql://caseledger@127.0.0.1:1/x"],
    )
    assert result.exit_code == VIEWS_UNREACHABLE
    assert "no PostgreSQL answers at" in result.output
    assert "python docker/services.py start postgres" in result.output
    assert "nodes up" not in result.output


def test_a_views_dsn_without_postgresql_views_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["demo", "--views-dsn", "postgresql://127.0.0.1/x"])
    assert result.exit_code == 2
    assert "applies to --views postgres only" in result.output
