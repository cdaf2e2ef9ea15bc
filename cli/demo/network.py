"""The demo's network, broker and Cassandra node: started as processes, read from
their output, stopped.

The network is `python -m caseledger.nodes network up --demo` (the
supervisor), run as a child process: the command line never imports the
node code. Its `LISTENING <code> <address> <name>` lines say where the nodes
are, its `READY` line that all of them listen; its messages go to
`<data>/supervisor.log`. For `--feed kafka` the broker is the one named by
CASELEDGER_KAFKA, for `--province-store cassandra` the Cassandra node is the
one named by CASELEDGER_CASSANDRA; without them, the one the repository's
`docker/services.py` runs (started if it is not running, and then stopped
again at the end). `--cluster` takes the three-member clusters the same way:
CASELEDGER_KAFKA_CLUSTER and CASELEDGER_CASSANDRA_CLUSTER, else the
checkout's `kafka-cluster` and `cassandra-cluster`.
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

from caseledger.cli.demo.report import DemoNode
from caseledger.cli.network import node_module_argv

READY_TIMEOUT = 120.0
STOP_TIMEOUT = 60.0
_ENDED = None
_TAIL_LINES = 30
_SERVICES_TIMEOUT = 600


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
class Service:
    """A server the demo uses (the Kafka broker, the Cassandra node), and whether
    the demo started it."""

    name: str
    """`kafka` or `cassandra`, as `docker/services.py` calls it."""
    address: str
    services: Path | None = None
    """`docker/services.py` when the demo started the server (and stops it)."""

    def stop(self) -> None:
        if self.services is not None:
            subprocess.run(
                [sys.executable, str(self.services), "stop", self.name],
                check=False, capture_output=True, timeout=STOP_TIMEOUT,
            )  # fmt: skip


@dataclass(frozen=True)
class _Server:
    name: str
    title: str
    named_by: str
    port_variable: str
    port: str
    option: str
    address: str = "127.0.0.1:{port}"
    listed_by: str = ""
    """A cluster's `status` option that prints its members' addresses
    (`--bootstrap`); empty for a single server, whose address is `address`."""


_KAFKA = _Server(
    "kafka", "Kafka", "CASELEDGER_KAFKA", "CASELEDGER_KAFKA_PORT", "9092", "--feed kafka"
)
_CASSANDRA = _Server(
    "cassandra",
    "Cassandra",
    "CASELEDGER_CASSANDRA",
    "CASELEDGER_CASSANDRA_PORT",
    "9042",
    "--province-store cassandra",
)


_POSTGRES = _Server(
    "postgres",
    "PostgreSQL",
    "CASELEDGER_POSTGRES",
    "CASELEDGER_POSTGRES_PORT",
    "5432",
    "--views postgres",
    "postgresql://caseledger@127.0.0.1:{port}/caseledger",
)


_KAFKA_CLUSTER = _Server(
    "kafka-cluster",
    "the Kafka cluster",
    "CASELEDGER_KAFKA_CLUSTER",
    "",
    "",
    "--cluster",
    listed_by="--bootstrap",
)
_CASSANDRA_CLUSTER = _Server(
    "cassandra-cluster",
    "the Cassandra cluster",
    "CASELEDGER_CASSANDRA_CLUSTER",
    "",
    "",
    "--cluster",
    listed_by="--contact-points",
)


def services_script() -> Path | None:
    """`docker/services.py` of the source checkout this command line is installed from."""
    # Strict editable installs link each file, so the real path is in the checkout.
    script = Path(__file__).resolve().parents[2] / "docker" / "services.py"
    return script if script.is_file() else None


def kafka_broker(say: Callable[[str], None]) -> Service:
    """CASELEDGER_KAFKA if set; else the checkout's broker, started if not running
    (and then stopped by `Service.stop`)."""
    return _service(_KAFKA, say)


def cassandra_node(say: Callable[[str], None]) -> Service:
    """CASELEDGER_CASSANDRA if set; else the checkout's Cassandra node, started if
    not running (and then stopped by `Service.stop`)."""
    return _service(_CASSANDRA, say)


def postgres_server(say: Callable[[str], None]) -> Service:
    """CASELEDGER_POSTGRES (a DSN) if set; else the checkout's PostgreSQL, started if
    not running (and then stopped by `Service.stop`)."""
    return _service(_POSTGRES, say)


def kafka_cluster(say: Callable[[str], None]) -> Service:
    """CASELEDGER_KAFKA_CLUSTER (its bootstrap list) if set; else the checkout's
    three-broker cluster, started if not running (and then stopped)."""
    return _service(_KAFKA_CLUSTER, say)


def cassandra_cluster(say: Callable[[str], None]) -> Service:
    """CASELEDGER_CASSANDRA_CLUSTER (its contact points) if set; else the checkout's
    three-node cluster, started if not running (and then stopped)."""
    return _service(_CASSANDRA_CLUSTER, say)


def _service(server: _Server, say: Callable[[str], None]) -> Service:
    named = os.environ.get(server.named_by, "").strip()
    if named:
        return Service(server.name, named)
    script = services_script()
    if script is None:
        raise NetworkFailure(
            f"{server.option} needs a {server.title} server: set {server.named_by}, "
            "or run from a source checkout, whose docker/services.py starts one"
        )
    status = subprocess.run(
        [sys.executable, str(script), "status", server.name],
        check=False, capture_output=True, text=True, timeout=STOP_TIMEOUT,
    )  # fmt: skip
    if status.returncode == 0:
        return Service(server.name, _address(server, script))
    say(f"starting {server.title} with {script} (stopped again when the demo ends)")
    started = subprocess.run(
        [sys.executable, str(script), "start", server.name],
        check=False, capture_output=True, text=True, timeout=_SERVICES_TIMEOUT,
    )  # fmt: skip
    if started.returncode != 0:
        raise NetworkFailure(
            f"could not start {server.title} with {script} (exit status {started.returncode}):\n"
            f"{started.stderr.strip() or started.stdout.strip()}"
        )
    return Service(server.name, _address(server, script), script)


def _address(server: _Server, script: Path) -> str:
    """Where a running server answers: its port, or a cluster's list of members."""
    if not server.listed_by:
        return server.address.format(port=os.environ.get(server.port_variable, server.port))
    listed = subprocess.run(
        [sys.executable, str(script), "status", server.name, server.listed_by],
        check=False, capture_output=True, text=True, timeout=STOP_TIMEOUT,
    )  # fmt: skip
    if listed.returncode != 0 or not listed.stdout.strip():
        raise NetworkFailure(
            f"{server.title} does not list its members (exit status {listed.returncode}):\n"
            f"{listed.stderr.strip()}"
        )
    return listed.stdout.strip()


def drop_keyspaces(network_file: Path) -> str | None:
    """Drop the Cassandra keyspaces of the run's network file; None, or what went wrong."""
    argv = node_module_argv("network", "drop-keyspaces", str(network_file), "--yes")
    # The run's file names the cluster its keyspaces are on; a
    # CASELEDGER_CASSANDRA of the shell would take precedence over it.
    env = {name: value for name, value in os.environ.items() if name != "CASELEDGER_CASSANDRA"}
    dropped = subprocess.run(
        argv, env=env, check=False, capture_output=True, text=True, timeout=_SERVICES_TIMEOUT
    )
    if dropped.returncode == 0:
        return None
    return dropped.stderr.strip() or f"exit status {dropped.returncode}"
