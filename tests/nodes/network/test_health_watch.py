"""`network up` tells the operator, on its console, what is unhealthy as it happens:
an unreachable broker, a node that stops answering (and when it answers again),
and serves each node's metrics where `--metrics-base-port` says."""

from __future__ import annotations

import math
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry, Gauge, generate_latest

from caseledger.nodes.network.watch import unknown_lags
from tests.nodes.processes import free_ports
from tests.timing import scaled

_CITY, _DISTRICT = "370100000000", "370102000000"
_WAIT = scaled(90.0)
_ENDED = ""


def _network(folder: Path) -> Path:
    ports = free_ports(2)
    document = {
        "network": "health-test",
        "defaults": {"data_dir": str(folder / "var")},
        "nodes": [
            {"code": _CITY, "name": "济南市", "address": f"127.0.0.1:{ports[0]}"},
            {"code": _DISTRICT, "name": "历下区", "address": f"127.0.0.1:{ports[1]}"},
        ],
    }
    path = folder / "health.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


@dataclass
class Console:
    """A running `network up`, its stdout and stderr as one stream, in the order written."""

    process: subprocess.Popen[str]
    lines: queue.Queue[str]

    def wait_for(self, text: str) -> list[str]:
        """The lines up to and including the first that contains `text`."""
        seen: list[str] = []
        deadline = time.monotonic() + _WAIT
        while time.monotonic() < deadline:
            line = self.lines.get(timeout=_WAIT)
            if line == _ENDED:
                raise AssertionError(f"network up ended before {text!r}: {seen}")
            seen.append(line)
            if text in line:
                return seen
        raise AssertionError(f"no {text!r} within {_WAIT} s: {seen}")

    def child(self, code: str) -> int:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent == self.process.pid and f"--code {code}" in command:
                return int(entry.name)
        raise AssertionError(f"no node process for {code}")


@pytest.fixture
def console(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Console]:
    extra: list[str] = request.param
    process = subprocess.Popen(
        [sys.executable, "-m", "caseledger.nodes", "network", "up", str(_network(tmp_path)),
         "--data", str(tmp_path / "run"), "--health-every", "0.5", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(_ENDED)

    threading.Thread(target=pump, daemon=True).start()
    yield Console(process, lines)
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=_WAIT)


_DEAD_BROKER = f"127.0.0.1:{free_ports(1)[0]}"


@pytest.mark.parametrize("console", [["--feed", "kafka", "--kafka", _DEAD_BROKER]], indirect=True)
def test_an_unreachable_broker_is_reported_before_ready(console: Console) -> None:
    lines = console.wait_for("READY")
    expected = f"UNHEALTHY kafka broker {_DEAD_BROKER} unreachable (the feed of 2 node(s))"
    assert any(line.endswith(expected) for line in lines), lines


@pytest.mark.parametrize("console", [[]], indirect=True)
def test_a_node_that_stops_answering_is_reported_and_so_is_its_return(console: Console) -> None:
    lines = console.wait_for("READY")
    assert not any("UNHEALTHY" in line for line in lines), lines
    district = console.child(_DISTRICT)
    os.kill(district, signal.SIGSTOP)
    try:
        stopped = console.wait_for("UNHEALTHY")
        assert "node 370102000000 历下区 at 127.0.0.1:" in stopped[-1]
        assert "not answering its health service" in stopped[-1]
    finally:
        os.kill(district, signal.SIGCONT)
    back = console.wait_for("HEALTHY again")
    assert "node 370102000000 历下区" in back[-1]


_METRICS_BASE = free_ports(1)[0]


@pytest.mark.parametrize("console", [["--metrics-base-port", str(_METRICS_BASE)]], indirect=True)
def test_each_node_serves_metrics_from_the_base_port_in_file_order(console: Console) -> None:
    lines = console.wait_for("READY")
    for offset, code in enumerate((_CITY, _DISTRICT)):
        url = f"http://127.0.0.1:{_METRICS_BASE + offset}/metrics"
        assert any(line.endswith(f"metrics of node {code} at {url}") for line in lines)
        with urllib.request.urlopen(url, timeout=10) as response:
            assert "caseledger_log_position" in response.read().decode()


def test_a_lag_given_as_unknown_names_its_source() -> None:
    registry = CollectorRegistry()
    lag = Gauge("caseledger_replication_lag_events", "lag", ["source"], registry=registry)
    lag.labels(source="370102001000").set(math.nan)
    lag.labels(source="370102002000").set(0)
    assert unknown_lags(generate_latest(registry).decode()) == ["370102001000"]
