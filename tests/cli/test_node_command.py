"""`node serve` hands the process over to the node package; `node ping` reaches a node."""

from __future__ import annotations

import sys

import pytest
from click.testing import CliRunner

from caseledger.cli.main import cli
from caseledger.v1 import ledger_pb2
from tests.cli.fakes import FakeLedger


def test_serve_replaces_the_process_passing_every_argument(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    executed: list[tuple[str, list[str]]] = []

    def execv(path: str, argv: list[str]) -> None:
        executed.append((path, argv))

    monkeypatch.setattr("os.execv", execv)
    args = ["--code", "370102000000", "--listen", "127.0.0.1:0", "--data", "d", "--help"]
    result = CliRunner().invoke(cli, ["node", "serve", *args])
    assert result.exit_code == 0, result.output
    assert executed == [
        (sys.executable, [sys.executable, "-m", "caseledger.nodes", "serve", *args])
    ]


def test_ping_names_the_node_that_answers() -> None:
    ledger = FakeLedger(answers={"Ping": ledger_pb2.PingResponse(node="370102000000")})
    result = CliRunner().invoke(cli, ["--node", "h:1", "node", "ping"], obj=ledger.connect)
    assert "node 370102000000 answers at h:1" in result.output
