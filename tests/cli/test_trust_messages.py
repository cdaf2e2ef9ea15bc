"""What the command line says when a secure node turns it away: which of the
certificate or the token is missing or wrong, with its own exit code."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from click.testing import CliRunner, Result

from caseledger.cli.connect import TLS_ENV, TOKEN_ENV
from caseledger.cli.main import cli
from caseledger.nodes.config import NodeConfig
from caseledger.nodes.identity import WINDOW_CLERK
from caseledger.nodes.service.server import RunningNode, start
from tests.pki import secured, shared_pki
from tests.samples import LIXIA

PINGYIN = "370124000000"
CASE = "37010200000020260101000001"


@pytest.fixture
def node(tmp_path: Path) -> Iterator[RunningNode]:
    with structlog.testing.capture_logs():
        running = start(secured(NodeConfig(code=LIXIA, data_dir=tmp_path / "node")))
        yield running
        running.stop(grace=0)


def show(node: RunningNode, monkeypatch: pytest.MonkeyPatch, **env: str | None) -> Result:
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    return CliRunner().invoke(cli, ["--node", node.address, "case", "show", CASE])


def test_without_a_token_it_says_not_authenticated_and_why(
    node: RunningNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = show(node, monkeypatch, **{TOKEN_ENV: None})
    assert result.exit_code == 10, result.output
    assert "not authenticated: no operator token was presented" in result.stderr
    assert "TOKEN_MISSING" in result.stderr


def test_an_operator_of_another_county_is_not_permitted(
    node: RunningNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = shared_pki().operator_token("pingyin.window.01", [WINDOW_CLERK], PINGYIN)
    result = show(node, monkeypatch, **{TOKEN_ENV: token})
    assert result.exit_code == 11, result.output
    assert "not permitted" in result.stderr
    assert "JURISDICTION" in result.stderr


def test_without_a_client_certificate_it_says_to_give_one(
    node: RunningNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = show(node, monkeypatch, **{TLS_ENV: None})
    assert result.exit_code == 9, result.output
    assert "no client certificate was given" in result.stderr
    assert "--tls" in result.stderr


def test_with_both_the_node_answers(node: RunningNode, monkeypatch: pytest.MonkeyPatch) -> None:
    result = show(node, monkeypatch)
    assert result.exit_code == 6, result.output  # no such case: the call went through
