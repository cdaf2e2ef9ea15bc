"""Node processes for crash tests: started from a network file, killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def write_network(folder: Path, nodes: dict[str, tuple[str, int]]) -> Path:
    """A network file listing `nodes` (code -> (name, port)) with their stores under `folder`."""
    document = {
        "network": "crash-test",
        "defaults": {"data_dir": str(folder / "data"), "store": "sqlite", "feed": "grpc"},
        "nodes": [
            {"code": code, "name": name, "address": f"127.0.0.1:{port}"}
            for code, (name, port) in nodes.items()
        ],
    }
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

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
