"""Running a whole network on one machine (网络运行): one process per node, one supervisor.

`python -m caseledger.nodes network up FILE` starts every node of the
network file as its own `python -m caseledger.nodes serve --network FILE
--code CODE` process, each writing its output to `<data>/logs/<code>.log`,
waits until every node printed its `LISTENING` line, and then prints, on
stdout, one `LISTENING <code> <address> <name>` line per node and a last
`READY` line, which is what scripts (the demo) wait for.

It then watches: Ctrl-C or SIGTERM stops every node the way an operator
would (SIGTERM, so each drains; SIGKILL only after a grace period), and a
node that exits on its own is named with the tail of its log before the
others are stopped and the supervisor exits non-zero.

With `--data DIR` everything of the run is kept under DIR: the nodes'
stores in `stores/`, their logs in `logs/`, and `network.yaml`, the copy of
the network file (`run_copy`) the nodes actually run from, with
data_dir, and any `--base-port`, `--feed`, `--store`, `--cassandra` or
`--keyspace-prefix`, rewritten. Without it the logs go next to the root
node's stores. `network drop-keyspaces FILE --yes` drops the Cassandra
keyspaces of a network file afterwards (`keyspaces`).

Nodes run in their own process group, so a terminal's Ctrl-C reaches the
supervisor only and the nodes are stopped in one orderly way; they are also
asked (Linux `PR_SET_PDEATHSIG`) to get SIGTERM should the supervisor die
without stopping them.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from caseledger.nodes.network.model import STORE_KINDS, Network, NodeSpec, StoreKind
from caseledger.nodes.network.watch import WatchedNode

READY_TIMEOUT = 60.0
STOP_GRACE = 15.0
_POLL = 0.1
_TAIL_LINES = 20
_LISTENING = "LISTENING "
_PR_SET_PDEATHSIG = 1

NODE_FAILED = 1
BAD_NETWORK_FILE = 2


class NodeExited(Exception):
    """A node process ended while it should have been running."""

    def __init__(self, node: NodeProcess) -> None:
        self.node = node
        super().__init__(
            f"node {node.spec} exited unexpectedly (exit status {node.process.returncode}); "
            f"last lines of {node.log}:\n{node.tail()}"
        )


class NotReady(Exception):
    """Some nodes did not start listening in time."""

    def __init__(self, waiting: Sequence[NodeProcess], timeout: float) -> None:
        self.waiting = tuple(waiting)
        listing = "\n".join(f"{n.spec} (log {n.log}):\n{n.tail()}" for n in waiting)
        super().__init__(
            f"{len(waiting)} node(s) not listening after {timeout:g} s; "
            f"last lines of their logs:\n{listing}"
        )


@dataclass
class NodeProcess:
    """One node's process, its log file, and the address it said it listens on."""

    spec: NodeSpec
    process: subprocess.Popen[bytes]
    log: Path
    log_start: int
    """Where this run's output begins in the log (earlier runs are kept above it)."""
    address: str | None = None
    _scanned: int = field(default=0, repr=False)

    def poll_listening(self) -> str | None:
        """The address from the node's `LISTENING` line, once it printed one."""
        if self.address is None:
            text = self._output()
            for line in text.splitlines():
                if line.startswith(_LISTENING):
                    self.address = line[len(_LISTENING) :].strip()
                    break
        return self.address

    def _output(self) -> str:
        try:
            with self.log.open("rb") as stream:
                stream.seek(self.log_start)
                return stream.read().decode("utf-8", errors="replace")
        except OSError:
            return ""

    def tail(self, lines: int = _TAIL_LINES) -> str:
        kept = self._output().splitlines()[-lines:]
        return "\n".join(f"    {line}" for line in kept) or "    (the log is empty)"


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGTERM it if the supervisor dies first."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: the nodes then outlive a killed supervisor


class Supervisor:
    """Starts, watches and stops the nodes of one network."""

    def __init__(
        self,
        network: Network,
        network_file: Path,
        logs: Path,
        node_args: Sequence[str] = (),
        err: IO[str] | None = None,
        *,
        metrics_base_port: int | None = None,
    ) -> None:
        self.network = network
        self.network_file = network_file
        self.logs = logs
        self.node_args = tuple(node_args)
        # Node i of the file serves its metrics on base + i.
        self.metrics_ports: dict[str, int] = (
            {}
            if metrics_base_port is None
            else {n.code: metrics_base_port + i for i, n in enumerate(network.nodes)}
        )
        self.nodes: list[NodeProcess] = []
        self._err = err if err is not None else sys.stderr

    def command_of(self, node: NodeSpec) -> list[str]:
        metrics = self.metrics_ports.get(node.code)
        return [
            sys.executable,
            "-m",
            "caseledger.nodes",
            "serve",
            "--network",
            str(self.network_file),
            "--code",
            node.code,
            *self.node_args,
            *([] if metrics is None else ["--metrics-port", str(metrics)]),
        ]

    def start(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        for spec in self.network.nodes:
            log = self.logs / f"{spec.code}.log"
            with log.open("ab") as output:
                start = output.tell()
                process = subprocess.Popen(
                    self.command_of(spec),
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    process_group=0,
                    # The supervisor starts its nodes before it starts any thread.
                    preexec_fn=_die_with_parent,  # noqa: PLW1509
                )
            self.nodes.append(NodeProcess(spec, process, log, start))

    def wait_ready(self, timeout: float, interrupted: threading.Event) -> bool:
        """True once every node listens; False if interrupted first.
        `NodeExited` if one dies meanwhile, `NotReady` on timeout."""
        deadline = time.monotonic() + timeout
        while not interrupted.is_set():
            self.check_running()
            waiting = [n for n in self.nodes if n.poll_listening() is None]
            if not waiting:
                return True
            if time.monotonic() > deadline:
                raise NotReady(waiting, timeout)
            interrupted.wait(_POLL)
        return False

    def check_running(self) -> None:
        for node in self.nodes:
            if node.process.poll() is not None:
                raise NodeExited(node)

    def watch(self, interrupted: threading.Event, parent: int | None = None) -> None:
        """Return when interrupted (or, given `parent`, once that process is gone);
        `NodeExited` when a node ends on its own."""
        while not interrupted.wait(_POLL * 5):
            if parent is not None and os.getppid() != parent:
                return
            self.check_running()

    def stop(self, grace: float = STOP_GRACE) -> bool:
        """SIGTERM every running node, SIGKILL those still running after `grace`
        seconds; True if every node drained and exited with status 0."""
        running = [n for n in self.nodes if n.process.poll() is None]
        for node in running:
            node.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        clean = True
        for node in running:
            try:
                node.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                node.process.kill()
                node.process.wait()
                self._say(f"node {node.spec} did not stop within {grace:g} s: killed")
                clean = False
                continue
            if node.process.returncode != 0:
                self._say(f"node {node.spec} stopped with exit status {node.process.returncode}")
                clean = False
        return clean

    def watched(self) -> list[WatchedNode]:
        """The nodes that listen, for the health watch."""
        return [
            WatchedNode(n.spec, n.address, self.metrics_ports.get(n.spec.code))
            for n in self.nodes
            if n.address is not None
        ]

    def _say(self, text: str) -> None:
        print(text, file=self._err, flush=True)


def store_choice(text: str) -> tuple[str, StoreKind]:
    """`--store CODE=KIND`, e.g. `370000000000=cassandra`."""
    code, _, kind = text.partition("=")
    found = next((k for k in STORE_KINDS if k == kind.strip()), None)
    if not code.strip() or found is None:
        raise argparse.ArgumentTypeError(
            f"{text!r}: write CODE=KIND with KIND one of {', '.join(STORE_KINDS)}"
        )
    return code.strip(), found
