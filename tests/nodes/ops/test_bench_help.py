"""The benchmarks' help names commands that exist, and bench-cassandra writes JSON."""

from __future__ import annotations

import re
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


def test_serve_and_network_up_describe_every_option_with_its_default() -> None:
    for command in (("serve",), ("network", "up")):
        text = " ".join(_help(*command).split())
        options = sorted(set(re.findall(r"\[(--[a-z-]+)", _help(*command))))
        for option in options:
            # The option, its metavar (NAME or {choices}) if any, then the first word after.
            entry = rf"{option}(?: (?:\{{[^}}]*\}}|[A-Z][A-Z0-9:_=]*))? (\S+)"
            described = re.search(entry, text.split("options:")[1])
            assert described is not None, option
            assert not described.group(1).startswith("--"), f"{option} has no description"
    serve = " ".join(_help("serve").split())
    for default in ("default: sqlite", "default: json", "default: 127.0.0.1:50051"):
        assert default in serve
