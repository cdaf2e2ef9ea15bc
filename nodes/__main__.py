"""`python -m caseledger.nodes serve ...`: run one node until SIGTERM or Ctrl-C;
`network up FILE`: run a whole network, one process per node."""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import threading
from pathlib import Path

import structlog
from prometheus_client import start_http_server

from caseledger.nodes.config import NodeConfig, env_defaults
from caseledger.nodes.logs import configure_logging
from caseledger.nodes.network.file import NetworkFileError, load_network
from caseledger.nodes.network.supervisor import add_arguments as add_network_arguments
from caseledger.nodes.network.supervisor import run as run_network
from caseledger.nodes.network.wiring import directory_of, sources_of
from caseledger.nodes.replication.grpc_feed import Source
from caseledger.nodes.service.server import start
from caseledger.nodes.trust.commands import add_arguments as add_pki_arguments
from caseledger.nodes.trust.commands import run as run_pki
from caseledger.nodes.trust.errors import TrustError

_SIGNAL_CHECK_SECONDS = 0.5
"""How long a SIGTERM may wait for the main thread to notice it."""


def _parser(defaults: dict[str, str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="caseledger node")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run one node")
    serve.add_argument("--code", required=True, help="12-digit division code of the node")
    serve.add_argument(
        "--network",
        type=Path,
        help="network file: the node's address, store and feed come from it, and "
        "it pulls its subtree's logs and its ancestors' catalogue",
    )
    serve.add_argument("--listen", default="127.0.0.1:50051", help="HOST:PORT (port 0: any)")
    serve.add_argument(
        "--data", type=Path, default=Path(defaults.get("CASELEDGER_DATA_DIR", "var"))
    )
    serve.add_argument("--store", choices=("sqlite", "memory", "cassandra"), default="sqlite")
    serve.add_argument(
        "--allow-client-time",
        action="store_true",
        help="take occurred_at from requests (migration, simulation)",
    )
    serve.add_argument(
        "--calendar-file", type=Path, default=defaults.get("CASELEDGER_CALENDAR_FILE")
    )
    serve.add_argument(
        "--insecure",
        action="store_true",
        help="plaintext gRPC, no caller checked: a local experiment only (the log says so); "
        "default: mutual TLS with the certificate in the data folder",
    )
    serve.add_argument(
        "--crl",
        type=Path,
        help="the network's revocation list, reloaded when it changes (default: ca.crl in "
        "the data folder; with --network: the pki folder's)",
    )
    serve.add_argument("--metrics-port", type=int, help="serve Prometheus metrics on this port")
    serve.add_argument(
        "--log-format",
        choices=("json", "console"),
        default=defaults.get("CASELEDGER_LOG_FORMAT", "json"),
    )
    network = sub.add_parser("network", help="run a whole network, one process per node")
    add_network_arguments(network)
    bench = sub.add_parser("bench", help="benchmark P1: durable appends beside baselines")
    bench.add_argument("--clients", type=int, default=16)
    bench.add_argument("--seconds", type=float, default=5.0)
    bench.add_argument("--json", type=Path, help="also write the report here")
    bench_cassandra = sub.add_parser(
        "bench-cassandra", help="benchmark the Cassandra store beside SQLite, with LWT costs"
    )
    bench_cassandra.add_argument(
        "--cassandra",
        default=defaults.get("CASELEDGER_CASSANDRA", "127.0.0.1:9042"),
        help="HOST:PORT [$CASELEDGER_CASSANDRA]",
    )
    bench_cassandra.add_argument("--seconds", type=float, default=3.0)
    pki = sub.add_parser(
        "pki",
        prog="caseledger network pki",
        help="the network PKI: CA, node certificates, revocation",
    )
    add_pki_arguments(pki)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser(env_defaults()).parse_args(argv)
    if args.command == "network":
        return run_network(args)
    if args.command == "pki":
        return run_pki(args)
    if args.command == "bench":
        from caseledger.nodes.bench.append import main as bench

        return bench(args.clients, args.seconds, args.json)
    if args.command == "bench-cassandra":
        from caseledger.nodes.bench.stores import main as bench_cassandra

        return bench_cassandra(args.cassandra, args.seconds)
    configure_logging(args.log_format)
    log = structlog.get_logger("caseledger.nodes")
    from caseledger.ledger.codes.division import DivisionCode
    from caseledger.ledger.errors import InvalidInput

    try:
        code = str(DivisionCode.parse(args.code, "code"))
    except InvalidInput as error:
        print(f"caseledger node: {error}", file=sys.stderr)
        return 2
    defaults = env_defaults()
    failpoint = defaults.get("CASELEDGER_FAILPOINT", "")
    sources: list[Source] = []
    directory: dict[str, str] = {}
    if args.network is not None:
        try:
            network = load_network(args.network)
        except NetworkFileError as error:
            print(f"caseledger node: {error}", file=sys.stderr)
            return 2
        config = dataclasses.replace(
            network.to_node_config(code),
            allow_client_time=args.allow_client_time,
            calendar_file=args.calendar_file,
            metrics_port=args.metrics_port,
            failpoint=failpoint,
        )
        config = dataclasses.replace(
            config,
            insecure=config.insecure or args.insecure,
            crl_file=args.crl or config.crl_file,
        )
        sources, directory = sources_of(network, code), directory_of(network)
    else:
        config = NodeConfig(
            code=code,
            listen=args.listen,
            data_dir=args.data,
            store=args.store,
            allow_client_time=args.allow_client_time,
            calendar_file=args.calendar_file,
            metrics_port=args.metrics_port,
            failpoint=failpoint,
            insecure=args.insecure,
            crl_file=args.crl,
        )
    try:
        node = start(config, sources, directory)
    except TrustError as error:
        print(f"caseledger node: {error}", file=sys.stderr)
        return 2
    if config.metrics_port is not None:
        start_http_server(config.metrics_port, addr="127.0.0.1", registry=node.metrics.registry)
    structlog.contextvars.bind_contextvars(node=code)
    log.info("node serving", address=node.address, store=config.store, data=str(config.data_dir))
    # Scripts that start a node on port 0 read the bound port from this line.
    print(f"LISTENING {node.address}", flush=True)
    done = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: done.set())
    # Python runs a handler only when the main thread is back in the
    # interpreter, and the kernel may hand SIGTERM to one of gRPC's threads,
    # which does not wake a wait without a timeout: so wait in slices.
    while not done.wait(_SIGNAL_CHECK_SECONDS):
        pass
    log.info("node draining")
    node.stop()
    log.info("node stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
