"""docker/services.py runs the three-broker Kafka cluster: status, kill and start
of one member, and the usage it refuses.

These use the running cluster of this checkout (CASELEDGER_KAFKA_CLUSTER);
a member a test kills is started again whatever happens, and nothing is
reset.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.clusters.kafka.members import Members, cluster_bootstrap, services

pytestmark = [pytest.mark.kafka_cluster]

NOT_RUNNING = 3
USAGE = 2


@pytest.fixture
def members() -> Iterator[Members]:
    cluster = Members(cluster_bootstrap())
    assert cluster.all_running(), "a member of the Kafka cluster is down before the test"
    try:
        yield cluster
    finally:
        cluster.restore()


def test_status_lists_every_member_on_its_own_address(members: Members) -> None:
    shown = services("status", "kafka-cluster")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert len(lines) == 3
    for number, line in enumerate(lines, start=1):
        assert line.startswith(f"kafka-cluster member {number}: running (pid ")
        assert line.endswith(f" on {members.address(number)}")
        assert members.address(number).startswith(f"127.0.0.{number}:")


def test_status_bootstrap_prints_the_client_addresses_and_nothing_else(members: Members) -> None:
    shown = services("status", "kafka-cluster", "--bootstrap")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == members.bootstrap + "\n"
    assert shown.stderr == ""


def test_a_killed_member_is_reported_down_until_started_again(members: Members) -> None:
    members.kill(3)
    shown = services("status", "kafka-cluster")
    assert shown.returncode == NOT_RUNNING
    assert f"kafka-cluster member 3: not running on {members.address(3)}" in shown.stdout
    assert "kafka-cluster member 1: running" in shown.stdout
    one = services("status", "kafka-cluster", "--member", "3")
    assert (one.returncode, one.stdout.count("\n")) == (NOT_RUNNING, 1)
    bootstrap = services("status", "kafka-cluster", "--bootstrap")
    assert bootstrap.returncode == NOT_RUNNING
    assert bootstrap.stdout == members.bootstrap + "\n"
    assert "member(s) 3 not running" in bootstrap.stderr
    refused = services("reset", "kafka-cluster")
    assert refused.returncode == 1
    assert "member(s) 1, 2 running; stop it first" in refused.stderr
    members.start(3)
    assert services("status", "kafka-cluster").returncode == 0
    again = services("start", "kafka-cluster", "--member", "3")
    assert again.returncode == 0
    assert "already running" in again.stdout


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        (["kill", "kafka-cluster"], "kill needs --member N"),
        (["start", "kafka-cluster", "--bootstrap"], "--bootstrap applies to status only"),
        (["reset", "kafka-cluster", "--member", "1"], "--member does not apply to reset"),
        (["status", "kafka-cluster", "--member", "4"], "invalid choice: 4"),
        (["status", "kafka-cluster", "--port", "19093"], "ports must differ"),
    ],
)
def test_usage_errors_exit_2_with_the_reason(
    members: Members, arguments: list[str], reason: str
) -> None:
    refused = services(*arguments)
    assert refused.returncode == USAGE
    assert reason in refused.stderr
    assert members.all_running()
