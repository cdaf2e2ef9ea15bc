"""Node processes for crash tests: started from a network file, killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tests.pki import shared_pki


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def write_network(
    folder: Path,
    nodes: dict[str, tuple[str, int]],
    *,
    feed: str = "grpc",
    kafka: Mapping[str, object] | None = None,
    stores: Mapping[str, Mapping[str, object]] | None = None,
) -> Path:
    """A network file listing `nodes` (code -> (name, port)) with their stores under `folder`:
    SQLite, or the `store` entry `stores` gives a node; each node's `feed`, and
    the `kafka` section a Kafka feed needs."""
    pki = shared_pki()
    for code in nodes:
        pki.secure(folder / "data", code)
    document: dict[str, object] = {
        "network": "crash-test",
        "defaults": {"data_dir": str(folder / "data"), "store": "sqlite", "feed": feed},
        "security": {"pki": str(pki.folder.root)},
        "nodes": [
            {"code": code, "name": name, "address": f"127.0.0.1:{port}"}
            | ({"store": dict(stores[code])} if stores and code in stores else {})
            for code, (name, port) in nodes.items()
        ],
    }
    if kafka is not None:
        document["kafka"] = dict(kafka)
    path = folder / "network.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


@dataclass
class NodeProcess:
    network: Path
    code: str
    log: Path
    process: subprocess.Popen[str] | None = field(default=None, init=False)

    def start(self, failpoint: str = "") -> None:
        env = {k: v for k, v in os.environ.items() if k != "CASELEDGER_FAILPOINT"}
        if failpoint:
            env["CASELEDGER_FAILPOINT"] = failpoint
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "caseledger.nodes", "serve", "--network", str(self.network),
                 "--code", self.code, "--allow-client-time"],
                stdout=subprocess.PIPE, stderr=log, text=True, env=env,
            )  # fmt: skip
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("LISTENING"):
            self.process.kill()
            raise AssertionError(f"node {self.code} did not start: {self.log.read_text()[-2000:]}")

    def died(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def freeze(self) -> None:
        """SIGSTOP: the process holds its connections and does nothing, as a
        stalled disk or a long pause would leave it, until `thaw`."""
        assert self.process is not None
        assert self.process.poll() is None, f"node {self.code} is not running"
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
