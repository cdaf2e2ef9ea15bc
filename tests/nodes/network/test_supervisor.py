"""`network up`: every node its own process, readiness, a clean stop, a dead node named."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from caseledger.nodes.network.file import demo_network, load_network
from caseledger.nodes.network.run_copy import Overrides, network_document, write_network_copy
from tests.timing import scaled

_NODES = {
    "370100000000": "济南市",
    "370102000000": "历下区",
    "370102001000": "解放路街道",
}
_WAIT = scaled(90.0)
_ENDED = ""


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def small_network(folder: Path) -> Path:
    """A city, a district and a street, on free ports, stores under `folder`."""
    ports = free_ports(len(_NODES))
    document = {
        "network": "supervisor-test",
        "defaults": {"data_dir": str(folder / "var")},
        "nodes": [
            {"code": code, "name": name, "address": f"127.0.0.1:{port}"}
            for (code, name), port in zip(_NODES.items(), ports, strict=True)
        ],
    }
    path = folder / "small.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


@dataclass
class Up:
    """A running `network up` and the lines it printed so far."""

    process: subprocess.Popen[str]
    lines: queue.Queue[str]

    def read_until_ready(self) -> list[str]:
        seen = []
        while True:
            line = self.lines.get(timeout=_WAIT)
            if line == _ENDED:
                status, errors = self.finish()
                raise AssertionError(f"network up ended with status {status}: {errors}")
            seen.append(line)
            if line.startswith("READY"):
                return seen

    def finish(self) -> tuple[int, str]:
        assert self.process.stderr is not None
        status = self.process.wait(timeout=_WAIT)
        return status, self.process.stderr.read()


@pytest.fixture
def network_up(tmp_path: Path) -> Iterator[Up]:
    process = subprocess.Popen(
        [sys.executable, "-m", "caseledger.nodes", "network", "up", str(small_network(tmp_path)),
         "--data", str(tmp_path / "run")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(_ENDED)

    threading.Thread(target=pump, daemon=True).start()
    yield Up(process, lines)
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=_WAIT)


def children_of(pid: int) -> dict[int, str]:
    """Process id -> command line of the live children of `pid` (Linux /proc)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError, IndexError):
            continue
        if parent == pid:
            found[int(entry.name)] = command
    return found


def test_the_copy_moves_ports_from_the_base_and_stores_into_the_data_folder(
    tmp_path: Path,
) -> None:
    document = network_document(demo_network(), Overrides(data=tmp_path, base_port=41000))
    addresses = [node["address"] for node in document["nodes"]]
    assert addresses == [f"127.0.0.1:{41000 + i}" for i in range(6)]
    assert {node["data_dir"] for node in document["nodes"]} == {str(tmp_path.resolve())}


def test_the_copy_is_a_network_file_that_loads_to_the_same_nodes(tmp_path: Path) -> None:
    demo = demo_network()
    path = write_network_copy(demo, Overrides(base_port=41000), tmp_path / "copy.yaml")
    copy = load_network(path)
    assert [(n.code, n.name, n.level, n.feed) for n in copy.nodes] == [
        (n.code, n.name, n.level, n.feed) for n in demo.nodes
    ]


def test_the_copy_switches_every_node_to_kafka_with_the_broker_given(tmp_path: Path) -> None:
    overrides = Overrides(feed="kafka", kafka="127.0.0.1:19092", topic_prefix="demo7")
    copy = load_network(write_network_copy(demo_network(), overrides, tmp_path / "k.yaml"))
    assert {node.feed for node in copy.nodes} == {"kafka"}
    assert copy.kafka is not None
    assert [str(a) for a in copy.kafka.bootstrap] == ["127.0.0.1:19092"]
    assert copy.kafka.topic_prefix == "demo7"


def test_a_node_of_the_kafka_copy_is_configured_with_the_broker_and_prefix(
    tmp_path: Path,
) -> None:
    overrides = Overrides(feed="kafka", kafka="127.0.0.1:19092", topic_prefix="demo7")
    copy = load_network(write_network_copy(demo_network(), overrides, tmp_path / "k.yaml"))
    config = copy.to_node_config("370124102000")
    assert (config.feed, config.kafka_bootstrap, config.kafka_topic_prefix) == (
        "kafka",
        ("127.0.0.1:19092",),
        "demo7",
    )


def test_the_kafka_feed_without_a_broker_is_refused() -> None:
    with pytest.raises(ValueError, match="needs a broker"):
        network_document(demo_network(), Overrides(feed="kafka"))


def test_a_base_port_too_high_for_every_node_is_refused() -> None:
    with pytest.raises(ValueError, match="must fit"):
        network_document(demo_network(), Overrides(base_port=65533))


def test_network_up_names_every_listening_node_and_stops_them_all_on_sigterm(
    network_up: Up, tmp_path: Path
) -> None:
    lines = network_up.read_until_ready()
    listening = [line.split(" ", 3) for line in lines if line.startswith("LISTENING")]
    assert [(code, name) for _, code, _, name in listening] == list(_NODES.items())
    nodes = children_of(network_up.process.pid)
    assert len(nodes) == len(_NODES)
    network_up.process.send_signal(signal.SIGTERM)
    status, _ = network_up.finish()
    assert status == 0
    assert not any(_alive(pid) for pid in nodes)
    for code in _NODES:
        log = (tmp_path / "run" / "logs" / f"{code}.log").read_text(encoding="utf-8")
        assert '"node stopped"' in log


def test_a_node_that_dies_is_named_with_its_log_and_the_others_are_stopped(
    network_up: Up,
) -> None:
    network_up.read_until_ready()
    nodes = children_of(network_up.process.pid)
    victim = next(pid for pid, command in nodes.items() if "370102001000" in command)
    os.kill(victim, signal.SIGKILL)
    status, errors = network_up.finish()
    assert status == 1  # README: a node that dies ends `network up` with status 1
    assert "node 370102001000 解放路街道 exited unexpectedly" in errors
    assert "node serving" in errors  # the tail of its log
    assert not any(_alive(pid) for pid in nodes)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_bad_network_file_is_reported_before_anything_starts(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("network: x\nnodes: []\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "caseledger.nodes", "network", "up", str(bad)],
        check=False, capture_output=True, text=True, timeout=_WAIT,
    )  # fmt: skip
    assert result.returncode == 2
    assert "nodes: must be a non-empty list of nodes" in result.stderr
