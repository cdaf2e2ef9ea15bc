"""The three-broker Kafka cluster a test runs against, and its members' lives.

The cluster is the one `docker/services.py start kafka-cluster` started in
this checkout, named by CASELEDGER_KAFKA_CLUSTER (its bootstrap list, as
`status kafka-cluster --bootstrap` prints it). A test that kills or stops a
member does it through the same script, and `Members.restore` starts every
member that is down again, so tests run in any order and leave the
cluster whole.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from kafka import KafkaAdminClient

from tests.timing import scaled

SCRIPT = Path(__file__).resolve().parents[3] / "docker" / "services.py"
VARIABLE = "CASELEDGER_KAFKA_CLUSTER"
MEMBERS = (1, 2, 3)
# A member's JVM takes tens of seconds to start on a busy 2-core machine.
START_TIMEOUT = 240.0


def services(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """`python docker/services.py ARGS`, its output kept."""
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True, text=True, timeout=scaled(timeout), check=False,
    )  # fmt: skip


def cluster_bootstrap() -> str:
    """The cluster's bootstrap list; fails (never skips) when it is not given."""
    bootstrap = os.environ.get(VARIABLE, "").strip()
    assert bootstrap, (
        f"{VARIABLE} is not set: start the cluster with "
        "`python docker/services.py start kafka-cluster` and export "
        f'{VARIABLE}="$(python docker/services.py status kafka-cluster --bootstrap)"'
    )
    shown = services("status", "kafka-cluster", "--bootstrap")
    assert shown.stdout.strip() == bootstrap, (
        f"{VARIABLE}={bootstrap} is not the cluster docker/services.py runs "
        f"({shown.stdout.strip()}); its members could not be killed and restarted"
    )
    return bootstrap


@dataclass
class Members:
    """Kills, stops and starts members of the cluster; remembers who is down."""

    bootstrap: str
    down: set[int] = field(default_factory=set)
    _starting: dict[int, subprocess.Popen[str]] = field(default_factory=dict)

    def address(self, member: int) -> str:
        return self.bootstrap.split(",")[member - 1]

    def kill(self, member: int) -> None:
        """kill -9: the broker gets no chance to hand over its partitions."""
        self.down.add(member)
        done = services("kill", "kafka-cluster", "--member", str(member))
        assert done.returncode == 0, f"kill of member {member} failed:\n{done.stderr}"

    def start(self, member: int) -> None:
        """Start one member and wait until the cluster lists it as a live broker."""
        done = services(
            "start", "kafka-cluster", "--member", str(member), timeout=START_TIMEOUT + 30
        )
        assert done.returncode == 0, f"start of member {member} failed:\n{done.stderr}"
        self.down.discard(member)

    def begin_start(self, member: int) -> None:
        """Start one member without waiting for it (`restore` waits): a JVM's
        start-up then overlaps the rest of the test."""
        self._starting[member] = subprocess.Popen(
            [sys.executable, str(SCRIPT), "start", "kafka-cluster", "--member", str(member)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

    def restore(self) -> None:
        """Wait for members being started, start every member still down (all
        at once), and wait for the three."""
        for member, starting in self._starting.items():
            _, errors = starting.communicate(timeout=scaled(START_TIMEOUT + 30))
            assert starting.returncode == 0, f"start of member {member} failed:\n{errors}"
        self._starting.clear()
        done = services("start", "kafka-cluster", timeout=START_TIMEOUT + 30)
        assert done.returncode == 0, f"restarting the cluster failed:\n{done.stderr}"
        self.down.clear()

    def all_running(self) -> bool:
        return services("status", "kafka-cluster").returncode == 0

    def leader_of(self, topic: str) -> int:
        """The broker (member number) that leads the most partitions of `topic`."""
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap.split(","))
        try:
            [described] = admin.describe_topics([topic])
        finally:
            admin.close()
        leaders = [int(p["leader_id"]) for p in described["partitions"]]
        return max(set(leaders), key=leaders.count)
