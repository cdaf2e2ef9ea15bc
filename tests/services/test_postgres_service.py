"""docker/services.py runs PostgreSQL: start, answer, status, stop and reset, on its own instance.

The instance has its own folder and a free port, so the shared server of
`tests/run` is never touched.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services.test_services_script import NOT_RUNNING, SCRIPT, Instance, free_ports


@pytest.fixture
def instance() -> Iterator[Instance]:
    # A private folder (0700), as a fresh clone in `mktemp -d` is: as root the
    # server runs as the `postgres` user, and its cluster is kept where it can
    # reach it (postgres_server), so the folder's mode does not matter.
    folder = Path(tempfile.mkdtemp(prefix="caseledger-postgres-"))
    (port,) = free_ports(1)
    own = Instance("postgres", ("--run-dir", str(folder / "run"), "--port", str(port)), port)
    yield own
    own.run("stop")
    own.run("reset")
    shutil.rmtree(folder, ignore_errors=True)


def _psql(port: int, statement: str) -> str:
    psql = shutil.which("psql")
    assert psql is not None
    done = subprocess.run(
        [psql, f"postgresql://caseledger@127.0.0.1:{port}/caseledger", "-tAc", statement],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.postgres
def test_a_started_server_answers_on_localhost_only_and_stops(instance: Instance) -> None:
    started = instance.run("start")
    assert started.returncode == 0, started.stdout + started.stderr
    dsn = f"postgresql://caseledger@127.0.0.1:{instance.port}/caseledger"
    assert f"ready on {dsn}" in started.stdout
    assert _psql(instance.port, "SELECT current_user || ' ' || current_database()") == (
        "caseledger caseledger"
    )
    assert _psql(instance.port, "SHOW listen_addresses") == "127.0.0.1"
    again = instance.run("start")
    assert again.returncode == 0
    assert "already running" in again.stdout
    status = instance.run("status")
    assert status.returncode == 0
    assert dsn in status.stdout

    refused = instance.run("reset")
    assert refused.returncode == 1
    assert "stop it before a reset" in refused.stderr
    stopped = instance.run("stop")
    assert stopped.returncode == 0, stopped.stderr
    assert instance.run("status").returncode == NOT_RUNNING
    reset = instance.run("reset")
    assert reset.returncode == 0, reset.stderr


def test_jvm_options_do_not_apply_to_postgres() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "start", "postgres", "--heap", "1g"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert "--heap does not apply to postgres" in done.stderr
