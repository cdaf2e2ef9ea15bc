"""`caseledger network up` and `caseledger bench` become the node module's own commands."""

from __future__ import annotations

import subprocess
import sys

_CLI = "from caseledger.cli.main import main; main()"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _CLI, *args],
        check=False, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_network_up_hands_every_argument_to_the_supervisor() -> None:
    result = run_cli("network", "up", "--help")
    assert result.returncode == 0, result.stderr
    assert "usage: caseledger network up" in result.stdout
    assert "--base-port" in result.stdout


def test_network_up_reports_a_missing_network_file_as_a_usage_error() -> None:
    result = run_cli("network", "up", "no-such-network.yaml")
    assert result.returncode == 2
    assert "no-such-network.yaml" in result.stderr
    assert "cannot read the file" in result.stderr


def test_bench_hands_its_arguments_to_the_benchmark() -> None:
    result = run_cli("bench", "--seconds", "not-a-number")
    assert result.returncode == 2
    assert "--seconds" in result.stderr
