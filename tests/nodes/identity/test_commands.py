"""`caseledger identity init|issue|show|roles`: the command line round trip, by
calling `run()` as the node's entry point will, and once as a process with a pipe."""

from __future__ import annotations

import argparse
import io
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from caseledger.nodes.identity import MAX_TOKEN_BYTES
from caseledger.nodes.identity.commands import add_arguments, run
from tests.nodes.identity.conftest import AUDIENCE, LIXIA, claims_of

_STANDALONE = (
    "import argparse, sys\n"
    "from caseledger.nodes.identity.commands import add_arguments, run\n"
    "parser = argparse.ArgumentParser(prog='caseledger identity')\n"
    "add_arguments(parser)\n"
    "sys.exit(run(parser.parse_args()))\n"
)


def identity(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="caseledger identity")
    add_arguments(parser)
    return run(parser.parse_args(list(argv)))


def issue_args(folder: Path, *extra: str) -> list[str]:
    return [
        "issue", "--dir", str(folder), "--operator", "lixia.window.03", "--name", "刘敏",
        "--role", "window_clerk", "--role", "reviewer", "--division", LIXIA,
        "--audience", AUDIENCE, *extra,
    ]  # fmt: skip


@pytest.fixture
def folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    made = tmp_path / "pki"
    assert identity("init", "--dir", str(made)) == 0
    capsys.readouterr()
    return made


def test_init_writes_the_key_0600_and_the_jwks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert identity("init", "--dir", str(tmp_path / "pki")) == 0

    out = capsys.readouterr().out
    key = tmp_path / "pki" / "identity-provider.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert (tmp_path / "pki" / "identity-provider.jwks.json").is_file()
    assert out.startswith("key id ")


def test_init_twice_is_an_error_with_status_1(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert identity("init", "--dir", str(folder)) == 1

    assert "caseledger identity init: " in capsys.readouterr().err


def test_a_token_issued_shows_the_operator_it_names(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert identity(*issue_args(folder)) == 0
    token = capsys.readouterr().out.strip()

    jwks = str(folder / "identity-provider.jwks.json")
    assert identity("show", token, "--jwks", jwks, "--audience", AUDIENCE) == 0

    out = capsys.readouterr().out
    assert "operator   lixia.window.03" in out
    assert "roles      window_clerk, reviewer" in out
    assert f"division   {LIXIA} (county)" in out
    assert "EraseSubject" not in out
    assert "RecordStep" in out


def test_show_refuses_a_token_for_another_audience_with_its_reason(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    identity(*issue_args(folder))
    token = capsys.readouterr().out.strip()

    jwks = str(folder / "identity-provider.jwks.json")
    assert identity("show", token, "--jwks", jwks, "--audience", "urn:elsewhere") == 1

    assert "refused, TOKEN_AUDIENCE" in capsys.readouterr().err


def test_show_reads_the_token_from_stdin(
    folder: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    identity(*issue_args(folder))
    monkeypatch.setattr(sys, "stdin", io.StringIO(capsys.readouterr().out))

    jwks = str(folder / "identity-provider.jwks.json")
    assert identity("show", "-", "--jwks", jwks, "--audience", AUDIENCE) == 0
    assert "name       刘敏" in capsys.readouterr().out


def test_show_refuses_an_oversized_token_from_stdin(
    folder: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("e" * (10 * MAX_TOKEN_BYTES)))

    jwks = str(folder / "identity-provider.jwks.json")
    assert identity("show", "-", "--jwks", jwks, "--audience", AUDIENCE) == 1
    assert "TOKEN_MALFORMED" in capsys.readouterr().err


def test_issue_refuses_a_bad_division_and_prints_no_token(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = issue_args(folder)
    args[args.index(LIXIA)] = "370102001001"

    assert identity(*args) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "village part" in captured.err


@pytest.mark.parametrize(("text", "seconds"), [("8h", 28800), ("30m", 1800), ("1h30m", 5400)])
def test_the_lifetime_reads_hours_and_minutes(
    folder: Path, capsys: pytest.CaptureFixture[str], text: str, seconds: int
) -> None:
    assert identity(*issue_args(folder, "--lifetime", text)) == 0
    claims = claims_of(capsys.readouterr().out.strip())
    assert claims["exp"] - claims["iat"] == seconds


def test_a_lifetime_that_is_not_one_is_a_usage_error(folder: Path) -> None:
    with pytest.raises(SystemExit) as usage:
        identity(*issue_args(folder, "--lifetime", "eight hours"))
    assert usage.value.code == 2


def test_roles_prints_the_table_with_a_role_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    roles = tmp_path / "roles.yaml"
    roles.write_text("roles:\n  supervisor: []\n", encoding="utf-8")

    assert identity("roles", "--roles", str(roles)) == 0

    out = capsys.readouterr().out
    assert "data_protection_officer: EraseSubject, GetCase, Ping" in out
    assert "supervisor: (nothing)" in out
    assert "no role may issue: ListQuarantined, RecordRectification" in out


def test_issue_piped_into_show_as_processes(folder: Path) -> None:
    def process(*argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", _STANDALONE, *argv],
            input=stdin, capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip

    issued = process(*issue_args(folder))
    assert issued.returncode == 0, issued.stderr
    jwks = str(folder / "identity-provider.jwks.json")
    shown = process("show", "-", "--jwks", jwks, "--audience", AUDIENCE, stdin=issued.stdout)

    assert shown.returncode == 0, shown.stderr
    assert "operator   lixia.window.03" in shown.stdout
