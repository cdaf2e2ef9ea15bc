"""`caseledger network`: moving nodes to Cassandra for a run, and dropping the run's keyspaces."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.cli.test_network_command import run_cli


def run_cli_without_cassandra(*args: str) -> subprocess.CompletedProcess[str]:
    """As `run_cli`, with no CASELEDGER_CASSANDRA to fall back on."""
    environ = {k: v for k, v in os.environ.items() if k != "CASELEDGER_CASSANDRA"}
    return subprocess.run(
        [sys.executable, "-c", "from caseledger.cli.main import main; main()", *args],
        check=False, capture_output=True, text=True, timeout=120, env=environ,
    )  # fmt: skip


def test_network_up_offers_the_store_options() -> None:
    result = run_cli("network", "up", "--help")
    assert result.returncode == 0, result.stderr
    for option in ("--store CODE=KIND", "--cassandra HOST:PORT", "--keyspace-prefix PREFIX"):
        assert option in result.stdout


def test_network_up_refuses_a_store_that_is_not_code_and_kind() -> None:
    result = run_cli("network", "up", "--demo", "--store", "370000000000=mongo")
    assert result.returncode == 2
    assert "write CODE=KIND with KIND one of sqlite, memory, cassandra" in result.stderr


def test_network_up_refuses_a_node_on_cassandra_without_a_cluster() -> None:
    # Refused before anything is written or started.
    result = run_cli_without_cassandra("network", "up", "--demo", "--store", "370000=cassandra")
    assert result.returncode == 2
    assert "370000000000 山东省 on Cassandra needs a cluster" in result.stderr


def test_drop_keyspaces_hands_its_arguments_to_the_node_module() -> None:
    result = run_cli("network", "drop-keyspaces", "no-such-network.yaml")
    assert result.returncode == 2
    assert "no-such-network.yaml" in result.stderr
    assert "cannot read the file" in result.stderr
