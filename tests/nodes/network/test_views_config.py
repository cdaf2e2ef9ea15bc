"""Where nodes keep their views: the network file's `views` section, the run copy, serve."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from caseledger.nodes.config import NodeConfig
from caseledger.nodes.network.file import NetworkFileError, parse_network
from caseledger.nodes.network.run_copy import Overrides, network_document
from caseledger.projections.location import ViewsLocation

NODES = """\
nodes:
  - code: "370000000000"
    name: 山东省
    address: 127.0.0.1:50110
  - code: "370100000000"
    name: 济南市
    address: 127.0.0.1:50111
"""
DSN = "postgresql://caseledger@127.0.0.1:5432/caseledger"


def _network(views: str = "") -> str:
    return "network: test\n" + views + NODES


def _problems(text: str) -> list[str]:
    with pytest.raises(NetworkFileError) as raised:
        parse_network(text)
    return raised.value.problems


def test_without_a_views_section_each_node_keeps_its_sqlite_file() -> None:
    config = parse_network(_network()).to_node_config("370100000000")
    assert config.views_db == ViewsLocation(str(config.data_dir / "370100000000.views.sqlite"))
    assert not config.views_db.postgres


def test_a_postgres_views_section_gives_each_node_its_own_schema() -> None:
    text = _network(f"views:\n  store: postgres\n  dsn: {DSN}\n  schema_prefix: run1\n")
    network = parse_network(text)
    province, city = (network.to_node_config(node.code).views_db for node in network.nodes)
    assert province == ViewsLocation(DSN, "run1_views_370000000000")
    assert city == ViewsLocation(DSN, "run1_views_370100000000")


def test_without_a_prefix_the_schema_is_views_and_the_code() -> None:
    config = NodeConfig(code="370100000000", views_dsn=DSN)
    assert config.views_db == ViewsLocation(DSN, "views_370100000000")


@pytest.mark.parametrize(
    ("section", "where", "reason"),
    [
        ("views:\n  store: mysql\n", "views.store", "must be one of sqlite, postgres"),
        ("views:\n  store: postgres\n  dsn: 127.0.0.1:5432\n", "views.dsn", "postgresql://"),
        ("views:\n  store: postgres\n  schema_prefix: Run-1\n", "views.schema_prefix", "lower"),
        (f"views:\n  store: sqlite\n  dsn: {DSN}\n", "views.dsn", "applies to store postgres"),
        ("views:\n  store: postgres\n  table: x\n", "views.table", "unknown key"),
    ],
)
def test_a_bad_views_section_is_refused_with_its_line(
    section: str, where: str, reason: str
) -> None:
    (problem,) = _problems(_network(section))
    assert problem.startswith("line 3:") or problem.startswith("line 4:"), problem
    assert where in problem
    assert reason in problem


def test_the_run_copy_carries_the_views_and_the_overrides() -> None:
    network = parse_network(_network(f"views:\n  store: postgres\n  dsn: {DSN}\n"))
    kept = network_document(network, Overrides())
    assert kept["views"] == {"store": "postgres", "dsn": DSN}
    moved = network_document(
        parse_network(_network()),
        Overrides(views_dsn=DSN, views_schema_prefix="demo1"),
    )
    assert moved["views"] == {"store": "postgres", "dsn": DSN, "schema_prefix": "demo1"}
    again = parse_network(yaml.safe_dump(moved, allow_unicode=True))
    assert again.to_node_config("370000000000").views_db.schema == "demo1_views_370000000000"


def test_a_schema_prefix_without_a_database_is_refused() -> None:
    with pytest.raises(ValueError, match="--views-dsn"):
        network_document(parse_network(_network()), Overrides(views_schema_prefix="x"))


def test_serve_refuses_postgres_views_without_a_database(tmp_path: Path) -> None:
    network = tmp_path / "network.yaml"
    network.write_text(_network("views:\n  store: postgres\n"), encoding="utf-8")
    environment = {"PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "caseledger.nodes", "serve", "--code", "370100000000",
         "--network", str(network)],
        capture_output=True, text=True, timeout=120, check=False, env=environment,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "names no database" in done.stderr
    assert "CASELEDGER_VIEWS_DSN" in done.stderr
