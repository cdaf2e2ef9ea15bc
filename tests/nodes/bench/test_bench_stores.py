"""`bench-cassandra` without a Cassandra node says so in one message, and reports in JSON."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from caseledger.nodes.bench.stores import Row, main, report


def nothing_listens() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


def test_no_cassandra_node_is_one_message_and_exit_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    address = nothing_listens()
    assert main(address, 0.1, tmp_path / "figures.json") == 1
    err = capsys.readouterr().err
    assert err.startswith(f"bench-cassandra: no Cassandra node answers at {address}: ")
    assert "--cassandra HOST:PORT or CASELEDGER_CASSANDRA" in err
    assert "Traceback" not in err
    assert not (tmp_path / "figures.json").exists()


def test_the_node_module_command_prints_no_traceback() -> None:
    address = nothing_listens()
    done = subprocess.run(
        [sys.executable, "-m", "caseledger.nodes", "bench-cassandra", "--cassandra", address,
         "--seconds", "0.1"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert f"no Cassandra node answers at {address}" in done.stderr


def test_the_json_report_has_numbers() -> None:
    rows = [Row("sqlite", "append 1 per call", 1234.5, "events", 0.4, 1.2)]
    document = json.loads(json.dumps(report(rows, "127.0.0.1:9042", 3.0)))
    assert document["rows"] == [
        {
            "store": "sqlite",
            "figure": "append 1 per call",
            "per_second": 1234.5,
            "unit": "events",
            "p50_ms": 0.4,
            "p99_ms": 1.2,
        }
    ]
    assert document["seconds"] == 3.0
