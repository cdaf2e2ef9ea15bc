"""The demo's network and broker: started as processes, read from their output, stopped.

The network is `python -m caseledger.nodes network up --demo` (the
supervisor), run as a child process: the command line never imports the
node code. Its `LISTENING <code> <address> <name>` lines say where the nodes
are, its `READY` line that all of them listen; its messages go to
`<data>/supervisor.log`. For `--feed kafka` the broker is the one named by
CASELEDGER_KAFKA, or one started with the repository's `docker/services.py`.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from caseledger.cli.demo_report import DemoNode
from caseledger.cli.network import node_module_argv

READY_TIMEOUT = 120.0
STOP_TIMEOUT = 60.0
_ENDED = None
_TAIL_LINES = 30
_DEFAULT_KAFKA_PORT = "9092"


class NetworkFailure(Exception):
    """The network or the broker could not be started; the message says why."""


@dataclass
class NetworkRun:
    """A running supervisor: its process and where its messages go."""

    process: subprocess.Popen[str]
    messages: Path
    nodes: tuple[DemoNode, ...] = ()

    def tail(self) -> str:
        try:
            lines = self.messages.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return "(no messages)"
        return "\n".join(lines[-_TAIL_LINES:])

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM the supervisor (it stops every node) and wait; its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_network(
    data: Path, options: list[str], ready_timeout: float = READY_TIMEOUT
) -> NetworkRun:
    """Start the demo network with its stores, logs and network file under `data`,
    and wait until every node listens."""
    data.mkdir(parents=True, exist_ok=True)
    messages = data / "supervisor.log"
    argv = node_module_argv(
        "network", "up", "--demo", "--data", str(data), "--allow-client-time",
        "--stop-with-parent", *options,
    )  # fmt: skip
    with messages.open("a", encoding="utf-8") as stderr:
        process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr, text=True
        )
    run = NetworkRun(process, messages)
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(_ENDED)

    threading.Thread(target=pump, name="supervisor output", daemon=True).start()
    nodes = []
    while True:
        try:
            line = lines.get(timeout=ready_timeout)
        except queue.Empty:
            run.stop()
            raise NetworkFailure(
                f"the network was not ready after {ready_timeout:g} s:\n{run.tail()}"
            ) from None
        if line is _ENDED:
            status = process.wait()
            raise NetworkFailure(f"the network stopped (exit status {status}):\n{run.tail()}")
        if line.startswith("LISTENING "):
            _, code, address, name = line.split(" ", 3)
            nodes.append(DemoNode(code, address, name))
        elif line.startswith("READY"):
            run.nodes = tuple(nodes)
            return run


@dataclass(frozen=True)
class Broker:
    """The Kafka broker of a `--feed kafka` demo, and whether the demo started it."""

    bootstrap: str
    services: Path | None = None
    """`docker/services.py` when the demo started the broker (and stops it)."""

    def stop(self) -> None:
        if self.services is not None:
            subprocess.run(
                [sys.executable, str(self.services), "stop", "kafka"],
                check=False, capture_output=True, timeout=STOP_TIMEOUT,
            )  # fmt: skip


def services_script() -> Path | None:
    """`docker/services.py` of the source checkout this command line is installed from."""
    # Strict editable installs link each file, so the real path is in the checkout.
    script = Path(__file__).resolve().parent.parent / "docker" / "services.py"
    return script if script.is_file() else None


def kafka_broker(say: Callable[[str], None]) -> Broker:
    """CASELEDGER_KAFKA if set; else the checkout's broker, started if not running
    (and then stopped by `Broker.stop`)."""
    named = os.environ.get("CASELEDGER_KAFKA", "").strip()
    if named:
        return Broker(named)
    script = services_script()
    if script is None:
        raise NetworkFailure(
            "--feed kafka needs a Kafka broker: set CASELEDGER_KAFKA=HOST:PORT, or run "
            "from a source checkout, whose docker/services.py starts one"
        )
    bootstrap = f"127.0.0.1:{os.environ.get('CASELEDGER_KAFKA_PORT', _DEFAULT_KAFKA_PORT)}"
    status = subprocess.run(
        [sys.executable, str(script), "status", "kafka"],
        check=False, capture_output=True, text=True, timeout=STOP_TIMEOUT,
    )  # fmt: skip
    if status.returncode == 0:
        return Broker(bootstrap)
    say(f"starting Kafka with {script} (stopped again when the demo ends)")
    started = subprocess.run(
        [sys.executable, str(script), "start", "kafka"],
        check=False, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    if started.returncode != 0:
        raise NetworkFailure(
            f"could not start Kafka with {script} (exit status {started.returncode}):\n"
            f"{started.stderr.strip() or started.stdout.strip()}"
        )
    return Broker(bootstrap, script)
