"""docker/services.py runs the three-node Cassandra cluster: its commands and exit statuses.

Starting a cluster costs minutes on the project's machine, so the tests here
either look at folders where no member runs (usage, status of a stopped
cluster, reset) or ask the cluster of this checkout that the cluster stage
of tests/run started (`CASELEDGER_CASSANDRA_CLUSTER`, marker
`cassandra_cluster`) for its status; killing and starting members is what
tests/clusters/cassandra/ does to it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.clusters.cassandra import cluster

SCRIPT = Path(__file__).resolve().parents[2] / "docker" / "services.py"
USAGE, NOT_RUNNING = 2, 3


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["kill", "cassandra-cluster"], "kill needs --member N"),
        (["start", "cassandra-cluster", "--member", "4"], "invalid choice: 4"),
        (["stop", "cassandra-cluster", "--contact-points"], "--contact-points goes with status"),
        (["restart", "cassandra-cluster"], "invalid choice: 'restart'"),
    ],
)
def test_a_wrong_command_line_is_a_usage_error(args: list[str], said: str) -> None:
    done = run(*args)
    assert done.returncode == USAGE, done
    assert said in done.stderr
    assert done.stdout == ""


def test_a_stopped_cluster_has_every_member_not_running_and_no_contact_points(
    tmp_path: Path,
) -> None:
    where = ["--run-dir", str(tmp_path)]
    status = run("status", "cassandra-cluster", *where)
    assert status.returncode == NOT_RUNNING
    assert status.stdout.splitlines() == [
        f"cassandra-cluster member {n}: not running on 127.0.0.{n}:19042" for n in (1, 2, 3)
    ]
    points = run("status", "cassandra-cluster", "--contact-points", *where)
    assert points.returncode == NOT_RUNNING
    assert points.stdout == ""
    assert "member 1, cassandra-cluster member 2, cassandra-cluster member 3 not running" in (
        points.stderr
    )
    one = run("status", "cassandra-cluster", "--member", "2", "--port", "29042", *where)
    assert (one.returncode, one.stdout) == (
        NOT_RUNNING,
        "cassandra-cluster member 2: not running on 127.0.0.2:29042\n",
    )


def test_reset_of_a_stopped_cluster_removes_each_member_folder(tmp_path: Path) -> None:
    for number in (1, 2, 3):
        (tmp_path / f"member-{number}" / "data").mkdir(parents=True)
    done = run("reset", "cassandra-cluster", "--member", "3", "--run-dir", str(tmp_path))
    assert done.returncode == 0, done
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["member-1", "member-2"]
    done = run("reset", "cassandra-cluster", "--run-dir", str(tmp_path))
    assert done.returncode == 0, done
    assert not any(p.name.startswith("member-") for p in tmp_path.iterdir())


def test_kill_of_a_member_that_is_not_running_says_so(tmp_path: Path) -> None:
    done = run("kill", "cassandra-cluster", "--member", "1", "--run-dir", str(tmp_path))
    assert done.returncode == 0, done
    assert "member 1: not running; nothing to kill" in done.stdout


@pytest.mark.cassandra_cluster
def test_the_running_cluster_lists_its_members_and_contact_points() -> None:
    expected = cluster.contact_points()
    points = run("status", "cassandra-cluster", "--contact-points")
    assert (points.returncode, points.stdout) == (0, expected + "\n"), points
    status = run("status", "cassandra-cluster")
    assert status.returncode == 0, status
    lines = status.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        f"cassandra-cluster member {n}" for n in (1, 2, 3)
    ]
    assert all("running (pid" in line for line in lines)
