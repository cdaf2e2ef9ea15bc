"""`network up` and `network drop-keyspaces`: the operator's commands over the supervisor.

`up` reads the network file and its overrides, makes what the network's PKI
lacks, starts the nodes (`supervisor.Supervisor`), reports readiness, starts
the health watch (`watch.HealthWatch`), and stops every node when told to or
when one dies.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

from caseledger.nodes.config import CASSANDRA_ENV, env_defaults
from caseledger.nodes.network import keyspaces as network_keyspaces
from caseledger.nodes.network import status as network_status
from caseledger.nodes.network.file import NetworkFileError, demo_network, load_network
from caseledger.nodes.network.model import Network
from caseledger.nodes.network.run_copy import Overrides, write_network_copy
from caseledger.nodes.network.supervisor import (
    BAD_NETWORK_FILE,
    NODE_FAILED,
    READY_TIMEOUT,
    STOP_GRACE,
    NodeExited,
    NotReady,
    Supervisor,
    store_choice,
)
from caseledger.nodes.network.watch import CHECK_EVERY, HealthWatch
from caseledger.nodes.trust.clients import CLIENT_CERT, CLIENT_KEY
from caseledger.nodes.trust.errors import TrustError
from caseledger.nodes.trust.layout import ca_cert_copy
from caseledger.nodes.trust.provision import operator_folder, provision
from caseledger.nodes.trust.transport import INSECURE, KeyPair, Transport


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
    status = sub.add_parser(
        "status",
        prog="caseledger network status",
        help="every node of a network file: answers, health, lag per source, quarantine",
    )
    network_status.add_arguments(status)
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
        "--replication-factor",
        type=int,
        choices=range(1, 8),
        metavar="N",
        help="keep N copies of every Cassandra keyspace and Kafka topic of the run (a run on "
        "clusters; topics then need a majority of copies in sync to take a write) "
        "(default: the file's)",
    )
    up.add_argument(
        "--views-dsn",
        metavar="DSN",
        help="every node keeps its views in this PostgreSQL database, each in its own schema "
        "(default: the file's views section, else each node's SQLite file)",
    )
    up.add_argument(
        "--views-schema-prefix",
        metavar="PREFIX",
        help="put PREFIX_ before every node's views schema (a run of its own)",
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
    if args.network_command == "status":
        return network_status.run(args)
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


def _nodes_use_cassandra(cluster: str | None) -> None:
    """Point the node processes at `--cassandra`'s cluster. A node takes
    CASELEDGER_CASSANDRA over its file's contact points, so the cluster named
    on this command line must win over one inherited from the shell."""
    if cluster is not None:
        os.environ[CASSANDRA_ENV] = cluster


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
            views_dsn=args.views_dsn,
            views_schema_prefix=args.views_schema_prefix,
            replication_factor=args.replication_factor,
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
    _nodes_use_cassandra(args.cassandra)
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
