"""The three-node Cassandra cluster the tests run against, and what they do to it.

`CASELEDGER_CASSANDRA_CLUSTER` lists the members' CQL addresses, as
`python docker/services.py status cassandra-cluster --contact-points` prints
them (tests/run exports it). Without it every test here fails, saying how
to start the cluster; none skips.

Members are killed and started through the same script an operator uses,
and every test gives back each member it took down (`Members` restores them
in its fixture's `finally`), so the tests run in any order.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from caseledger.nodes.config import NodeConfig
from tests.pki import secured
from tests.timing import scaled

ADDRESS = "CASELEDGER_CASSANDRA_CLUSTER"
HOW_TO_START = (
    "start it with `python docker/services.py start cassandra-cluster` and export "
    f'{ADDRESS}="$(python docker/services.py status cassandra-cluster --contact-points)" '
    "(tests/run does both)"
)
SCRIPT = Path(__file__).resolve().parents[3] / "docker" / "services.py"
# A member starts in about a minute on the project's loaded 2-core machine.
_START_TIMEOUT = 300.0


def contact_points() -> str:
    value = os.environ.get(ADDRESS, "").strip()
    if not value:
        pytest.fail(f"{ADDRESS} is not set: {HOW_TO_START}", pytrace=False)
    return value


def node_env(keyspace: str, **extra: str) -> dict[str, str]:
    """A node's Cassandra store on the cluster: replication factor 3, quorum
    reads and writes, lightweight transactions at LOCAL_SERIAL."""
    return {
        "CASSANDRA_CONTACT_POINTS": contact_points(),
        "CASSANDRA_KEYSPACE": keyspace,
        "CASSANDRA_REPLICATION_FACTOR": "3",
        "CASSANDRA_WRITE_CONSISTENCY": "LOCAL_QUORUM",
        "CASSANDRA_READ_CONSISTENCY": "LOCAL_QUORUM",
        "CASSANDRA_SERIAL_CONSISTENCY": "LOCAL_SERIAL",
        "CASSANDRA_LEASE_SECONDS": "4",
        "CASSANDRA_LEASE_WAIT": "2",
        **extra,
    }


def node_config(code: str, data_dir: Path, keyspace: str) -> NodeConfig:
    """A node of the shared test PKI whose events are on the cluster."""
    config = NodeConfig(
        code=code,
        data_dir=data_dir,
        store="cassandra",
        allow_client_time=True,
        extra_env=node_env(keyspace),
    )
    return secured(config)


def keyspace(name: str) -> str:
    """A keyspace of this test process (dropped at the end of the session)."""
    return f"caseledger_cluster_{os.getpid()}_{name}"


def _script(command: str, *options: str) -> str:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), command, "cassandra-cluster", *options],
        capture_output=True,
        text=True,
        timeout=scaled(_START_TIMEOUT) + 60,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(
            f"services.py {command} cassandra-cluster {' '.join(options)}: "
            f"exit {done.returncode}\n"
            f"{done.stdout}{done.stderr}"
        )
    return done.stdout


@dataclass
class Members:
    """Kills and starts members, and remembers which are down to give them back."""

    down: set[int] = field(default_factory=set)

    def kill(self, *numbers: int) -> float:
        """SIGKILL these members; the moment (monotonic) the first was killed."""
        killed_at = time.monotonic()
        for number in numbers:
            self.down.add(number)
            _script("kill", "--member", str(number))
        return killed_at

    def start(self, *numbers: int) -> None:
        """Start these members with their data and wait until every live member sees them."""
        if len(numbers) == len(self.down) and set(numbers) == self.down and len(numbers) > 1:
            _script("start", "--timeout", str(scaled(_START_TIMEOUT)))  # the idle ones at once
        else:
            for number in numbers:
                _script("start", "--member", str(number), "--timeout", str(scaled(_START_TIMEOUT)))
        self.down -= set(numbers)

    def restore(self) -> None:
        if self.down:
            self.start(*sorted(self.down))
