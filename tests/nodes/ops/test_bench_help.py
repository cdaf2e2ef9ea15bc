"""The benchmarks' help names commands that exist, and bench-cassandra writes JSON."""

from __future__ import annotations

import subprocess
import sys

from caseledger.cli.main import cli


def _help(*command: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "caseledger.nodes", *command, "--help"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return done.stdout


def test_bench_help_names_the_caseledger_bench_command() -> None:
    usage = _help("bench")
    assert usage.startswith("usage: caseledger bench ")
    assert "bench" in cli.commands  # `caseledger bench` hands over to this parser


def test_bench_cassandra_offers_json() -> None:
    assert "--json PATH" in _help("bench-cassandra")
