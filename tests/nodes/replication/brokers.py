"""A Kafka broker of a test's own, on free ports and in its own folder, started
and stopped with the project's script, so a test may stop it without
disturbing the broker other tests share."""

from __future__ import annotations

import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

SERVICES = Path(__file__).resolve().parents[3] / "docker" / "services.py"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class OwnBroker:
    """A broker of this test's own, started and stopped by the project's script."""

    run_dir: Path
    port: int = field(default_factory=free_port)
    controller_port: int = field(default_factory=free_port)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _script(self, command: str) -> None:
        options = ["--run-dir", str(self.run_dir), "--port", str(self.port)]
        options += ["--controller-port", str(self.controller_port)]
        done = subprocess.run(
            [sys.executable, str(SERVICES), command, "kafka", *options],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, f"services.py {command} kafka failed:\n{done.stderr}"

    def start(self) -> None:
        self._script("start")

    def stop(self) -> None:
        self._script("stop")
