"""The README's "Clusters" section runs as written: its network file loads with
three copies of everything, and its commands start both clusters and run the
demo day on them, every trail verified."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from caseledger.nodes.network.file import parse_network

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## Clusters"
PROVINCE = "370000000000"
DEMO_TIMEOUT = 600

# The demo's tables as on a wide terminal, each row on one line; and the
# single node's address inherited, as tests/run leaves it: the clusters the
# demo names must win over it.
WIDE = {**os.environ, "COLUMNS": "300", "CASELEDGER_CASSANDRA": "127.0.0.1:9042"}

pytestmark = [pytest.mark.kafka_cluster, pytest.mark.cassandra_cluster]


def blocks() -> list[list[str]]:
    """The section's indented blocks, each as its lines without the indent."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index(SECTION) :]
    section = section[: section.index("\n## ", len(SECTION))]
    found: list[list[str]] = []
    current: list[str] = []
    for line in section.splitlines():
        if line.startswith("    "):
            current.append(line[4:])
        elif line.strip() and current:
            found.append(current)
            current = []
    if current:
        found.append(current)
    return found


def network_example() -> str:
    return "\n".join(next(b for b in blocks() if b[0].startswith("network:"))) + "\n"


def commands() -> list[list[str]]:
    lines = [
        line
        for block in blocks()
        for line in block
        if line.startswith(("python docker/services.py", "caseledger "))
    ]
    return [shlex.split(line.split("#")[0]) for line in lines]


def test_the_readme_network_file_keeps_three_copies_and_writes_to_two() -> None:
    network = parse_network(network_example())
    assert network.kafka is not None
    assert (network.kafka.replication_factor, network.kafka.in_sync) == (3, 2)
    assert len(network.kafka.bootstrap) == 3
    store = network.node(PROVINCE).store
    assert (store.kind, store.replication_factor, len(store.contact_points)) == (
        "cassandra",
        3,
        3,
    )
    env = network.to_node_config(PROVINCE).extra_env
    assert env["CASSANDRA_WRITE_CONSISTENCY"] == "LOCAL_QUORUM"
    assert env["CASSANDRA_READ_CONSISTENCY"] == "LOCAL_QUORUM"
    assert env["CASSANDRA_SERIAL_CONSISTENCY"] == "LOCAL_SERIAL"
    # The example names the members docker/services.py runs, where the tests run.
    kafka = os.environ.get("CASELEDGER_KAFKA_CLUSTER", "")
    assert {str(a) for a in network.kafka.bootstrap} == set(kafka.split(","))
    cassandra = os.environ.get("CASELEDGER_CASSANDRA_CLUSTER", "")
    assert {str(a) for a in store.contact_points} == set(cassandra.split(","))


def test_the_readme_commands_run_the_demo_day_on_both_clusters() -> None:
    ran = commands()
    assert ran[-1] == ["caseledger", "demo", "--cluster"], ran
    outputs = []
    for words in ran:
        argv = [sys.executable, *words[1:]] if words[0] == "python" else words
        done = subprocess.run(
            argv, cwd=ROOT, env=WIDE, capture_output=True, text=True, timeout=DEMO_TIMEOUT,
            check=False,
        )  # fmt: skip
        assert done.returncode == 0, (words, done.stdout[-4000:], done.stderr[-4000:])
        outputs.append(done.stdout)
    demo = outputs[-1]
    members = r"127\.0\.0\.1:\d+,127\.0\.0\.2:\d+,127\.0\.0\.3:\d+"
    copies = re.escape("(3 copies, 2 hold each write)")
    assert re.search(rf"feed: Kafka at {members}, topics demo\w+\.\* {copies}", demo), demo
    assert re.search(rf"province on Cassandra at {members}, keyspace \w+ {copies}", demo), demo
    assert "10 (1 own + 9 replicated)" in demo
    assert "✓ all 10 trails of the day verified at 山东省 370000000000" in demo
    assert "dropped the run's Cassandra keyspace" in demo
