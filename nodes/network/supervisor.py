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

from caseledger.nodes.config import CASSANDRA_ENV, env_defaults
from caseledger.nodes.network import keyspaces as network_keyspaces
from caseledger.nodes.network.file import NetworkFileError, demo_network, load_network
from caseledger.nodes.network.model import STORE_KINDS, Network, NodeSpec, StoreKind
from caseledger.nodes.network.run_copy import Overrides, write_network_copy
from caseledger.nodes.network.watch import CHECK_EVERY, HealthWatch, WatchedNode
from caseledger.nodes.trust.clients import CLIENT_CERT, CLIENT_KEY
from caseledger.nodes.trust.errors import TrustError
from caseledger.nodes.trust.layout import ca_cert_copy
from caseledger.nodes.trust.provision import operator_folder, provision
from caseledger.nodes.trust.transport import INSECURE, KeyPair, Transport

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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`network up` and `network drop-keyspaces`, under the `network` subcommand
    of `python -m caseledger.nodes`."""
    sub = parser.add_subparsers(dest="network_command", required=True)
    drop = sub.add_parser(
        "drop-keyspaces",
        prog="caseledger network drop-keyspaces",
        help="drop the Cassandra keyspaces of a network file's nodes (throwaway runs)",
    )
    network_keyspaces.add_arguments(drop)
    up = sub.add_parser(
        "up",
        prog="caseledger network up",
        help="run every node of a network file, each as its own process",
    )
    source = up.add_mutually_exclusive_group(required=True)
    source.add_argument("file", nargs="?", type=Path, help="the network file")
    source.add_argument("--demo", action="store_true", help="the packaged Shandong demo network")
    up.add_argument(
        "--data",
        type=Path,
        metavar="DIR",
        help="keep everything here: the nodes' stores in stores/, their logs in logs/, and "
        "network.yaml, the copy of the network file they run from",
    )
    up.add_argument(
        "--base-port",
        type=int,
        metavar="PORT",
        help="listen on PORT, PORT+1, ... in file order instead of the file's ports",
    )
    up.add_argument(
        "--feed",
        choices=("grpc", "kafka"),
        help="use this feed on every node (default: each node's in the file)",
    )
    up.add_argument(
        "--kafka",
        metavar="HOST:PORT",
        help="the broker for the kafka feed (default: the file's kafka section)",
    )
    up.add_argument(
        "--topic-prefix",
        metavar="PREFIX",
        help="the kafka feed's topic prefix (default: the file's, else caseledger)",
    )
    up.add_argument(
        "--store",
        type=store_choice,
        action="append",
        default=[],
        metavar="CODE=KIND",
        help="run this node on this store (sqlite, memory, cassandra); repeatable",
    )
    up.add_argument(
        "--cassandra",
        metavar="HOST:PORT",
        help=f"the cluster of every Cassandra store (default for --store: {CASSANDRA_ENV})",
    )
    up.add_argument(
        "--keyspace-prefix",
        metavar="PREFIX",
        help="put PREFIX_ before every Cassandra keyspace (a run of its own)",
    )
    up.add_argument(
        "--allow-client-time",
        action="store_true",
        help="every node takes occurred_at from requests (simulation)",
    )
    up.add_argument(
        "--stop-with-parent",
        action="store_true",
        help="stop the network when the process that started this one ends (scripts)",
    )
    up.add_argument(
        "--insecure",
        action="store_true",
        help="plaintext gRPC with no caller checked (a local experiment only; default: "
        "mutual TLS with the network's PKI, made in its pki folder if absent)",
    )
    up.add_argument(
        "--metrics-base-port",
        type=int,
        metavar="PORT",
        help="serve each node's Prometheus metrics on PORT, PORT+1, ... in file order "
        "(on 127.0.0.1; default: none); the health watch then also reports sources a "
        "node cannot reach",
    )
    up.add_argument(
        "--health-every",
        type=float,
        default=CHECK_EVERY,
        metavar="SECONDS",
        help="look at brokers, stores, nodes' health and sources this often and report "
        "each problem on the console when it appears and when it clears; 0: never "
        "(default: %(default)s)",
    )
    up.add_argument(
        "--ready-timeout",
        type=float,
        default=READY_TIMEOUT,
        metavar="SECONDS",
        help="how long every node has to listen (default: %(default)s)",
    )
    up.add_argument(
        "--stop-grace",
        type=float,
        default=STOP_GRACE,
        metavar="SECONDS",
        help="how long a node has to drain before it is killed (default: %(default)s)",
    )


def run(args: argparse.Namespace) -> int:
    """`network up` or `network drop-keyspaces`; the process's exit status."""
    if args.network_command == "drop-keyspaces":
        return network_keyspaces.run(args)
    return up(args)


def _say(text: str) -> None:
    print(f"caseledger network: {text}", file=sys.stderr, flush=True)


def _start_health_watch(
    network: Network, supervisor: Supervisor, args: argparse.Namespace, stopping: threading.Event
) -> None:
    """Report what is wrong already (before READY, so it is not missed), then keep watching."""
    if args.health_every <= 0:
        return
    for code, port in supervisor.metrics_ports.items():
        _say(f"metrics of node {code} at http://127.0.0.1:{port}/metrics")
    insecure = args.insecure or network.insecure
    transport = INSECURE if insecure else operator_transport(network.pki)
    watch = HealthWatch(network, supervisor.watched(), transport, _say)
    watch.report()
    threading.Thread(
        target=watch.run, args=(stopping, args.health_every), name="health-watch", daemon=True
    ).start()


def operator_transport(pki: Path) -> Transport:
    """The operator's client certificate (`provision` makes it), to ask nodes their health."""
    folder = operator_folder(pki)
    return Transport(
        KeyPair.read(
            folder / CLIENT_KEY,
            folder / CLIENT_CERT,
            ca_cert_copy(folder),
            f"issue the operator a client certificate in {folder}",
        )
    )


def up(args: argparse.Namespace) -> int:
    """`network up`: start, report readiness, watch, stop; the process's exit status."""
    cassandra = args.cassandra
    if cassandra is None and args.store:
        # A node moved to Cassandra has no cluster in its file; this machine's one.
        cassandra = env_defaults().get(CASSANDRA_ENV)
    try:
        network = demo_network() if args.demo else load_network(args.file)
        overrides = Overrides(
            data=None if args.data is None else args.data / "stores",
            base_port=args.base_port,
            feed=args.feed,
            kafka=args.kafka,
            topic_prefix=args.topic_prefix,
            stores=tuple(args.store),
            cassandra=cassandra,
            keyspace_prefix=args.keyspace_prefix,
        )
        home = args.data if args.data is not None else network.root.data_dir
        network_file = Path(network.source) if not args.demo else None
        if overrides.any() or network_file is None:
            network_file = write_network_copy(network, overrides, home / "network.yaml")
            network = load_network(network_file)
    except (NetworkFileError, ValueError) as error:
        print(f"caseledger network: {error}", file=sys.stderr)
        return BAD_NETWORK_FILE
    interrupted = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: interrupted.set())
    node_args = ["--allow-client-time"] if args.allow_client_time else []
    if args.insecure or network.insecure:
        node_args.append("--insecure")
    else:
        try:
            for line in provision(network):
                print(f"caseledger network: {line}", file=sys.stderr, flush=True)
        except TrustError as error:
            print(f"caseledger network: {error}", file=sys.stderr)
            return BAD_NETWORK_FILE
    supervisor = Supervisor(
        network, network_file, home / "logs", node_args, metrics_base_port=args.metrics_base_port
    )
    parent = os.getppid() if args.stop_with_parent else None
    status = 0
    watching = threading.Event()
    try:
        supervisor.start()
        if supervisor.wait_ready(args.ready_timeout, interrupted):
            for node in supervisor.nodes:
                print(f"LISTENING {node.spec.code} {node.address} {node.spec.name}")
            _start_health_watch(network, supervisor, args, watching)
            count = len(supervisor.nodes)
            print(f"READY {network.name}: {count} nodes, logs in {supervisor.logs}", flush=True)
            supervisor.watch(interrupted, parent)
    except (NodeExited, NotReady, OSError, TrustError) as failure:
        print(f"caseledger network: {failure}", file=sys.stderr, flush=True)
        status = NODE_FAILED
    watching.set()
    running = len([n for n in supervisor.nodes if n.process.poll() is None])
    print(f"caseledger network: stopping {running} node(s)", file=sys.stderr, flush=True)
    if not supervisor.stop(args.stop_grace) and status == 0:
        status = NODE_FAILED
    print("caseledger network: stopped", file=sys.stderr, flush=True)
    return status
