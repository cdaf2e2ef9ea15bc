"""`python -m caseledger.nodes serve ...`: run one node until SIGTERM or Ctrl-C;
`network up FILE`: run a whole network, one process per node."""

from __future__ import annotations

import argparse
import dataclasses
import errno
import signal
import socket
import sys
import threading
from pathlib import Path

import structlog
from eventsourcing.persistence import PersistenceError
from prometheus_client import start_http_server

from caseledger.nodes.config import NodeConfig, env_defaults
from caseledger.nodes.identity.commands import add_arguments as add_identity_arguments
from caseledger.nodes.identity.commands import run as run_identity
from caseledger.nodes.logs import configure_logging
from caseledger.nodes.network.command import add_arguments as add_network_arguments
from caseledger.nodes.network.command import run as run_network
from caseledger.nodes.network.file import NetworkFileError, load_network
from caseledger.nodes.network.wiring import directory_of, sources_of
from caseledger.nodes.replication.grpc_feed import Source
from caseledger.nodes.service.server import RunningNode, start
from caseledger.nodes.store_lock import StoreLocked, lock_store
from caseledger.nodes.trust.commands import add_arguments as add_pki_arguments
from caseledger.nodes.trust.commands import run as run_pki
from caseledger.nodes.trust.errors import TrustError

_SIGNAL_CHECK_SECONDS = 0.5
"""How long a SIGTERM may wait for the main thread to notice it."""

STORE_FAILED = 1
BAD_INPUT = 2
IN_USE = 3
"""Exit status of a node refused because its port or its stores are taken."""


def why_not_listening(listen: str) -> str:
    """Why gRPC could not bind `listen`: it says only that it failed, so try the
    port once more with a plain socket to tell a taken port from a bad address."""
    host, _, port_text = listen.rpartition(":")
    try:
        port = int(port_text)
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.bind((host.strip("[]") or "0.0.0.0", port))
    except ValueError:
        return f"cannot listen on {listen}: write HOST:PORT"
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            return (
                f"cannot listen on {listen}: port {port} is in use by another node or "
                "process (one node per port)"
            )
        return f"cannot listen on {listen}: {error.strerror}"
    return f"cannot listen on {listen} (port {port})"


def _parser(defaults: dict[str, str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="caseledger node")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", prog="caseledger node serve", help="run one node")
    serve.add_argument("--code", required=True, help="12-digit division code of the node")
    serve.add_argument(
        "--network",
        type=Path,
        help="network file: the node's address, store and feed come from it, and "
        "it pulls its subtree's logs and its ancestors' catalogue",
    )
    serve.add_argument(
        "--listen",
        default="127.0.0.1:50051",
        help="HOST:PORT, refused if another process listens there (port 0: any free port; "
        "default: %(default)s)",
    )
    serve.add_argument(
        "--data",
        type=Path,
        default=Path(defaults.get("CASELEDGER_DATA_DIR", "var")),
        help="the node's stores, locked for this process (<code>.lock holds its PID) "
        "[$CASELEDGER_DATA_DIR, default: %(default)s]",
    )
    serve.add_argument(
        "--store",
        choices=("sqlite", "memory", "cassandra"),
        default="sqlite",
        help="where the node keeps its events (cassandra: the cluster of "
        "$CASELEDGER_CASSANDRA; default: %(default)s)",
    )
    serve.add_argument(
        "--views-dsn",
        default=defaults.get("CASELEDGER_VIEWS_DSN"),
        metavar="DSN",
        help="keep the node's views in this PostgreSQL database (postgresql://...), in the "
        "schema views_<code>, instead of <code>.views.sqlite; over the network file's "
        "[$CASELEDGER_VIEWS_DSN]",
    )
    serve.add_argument(
        "--allow-client-time",
        action="store_true",
        help="take occurred_at from requests (migration, simulation)",
    )
    serve.add_argument(
        "--calendar-file",
        type=Path,
        default=defaults.get("CASELEDGER_CALENDAR_FILE"),
        metavar="FILE",
        help="the working-day calendar (holidays, make-up days) deadlines are counted in "
        "[$CASELEDGER_CALENDAR_FILE, default: the built-in one]",
    )
    serve.add_argument(
        "--insecure",
        action="store_true",
        help="plaintext gRPC, no caller checked: a local experiment only (the log says so); "
        "default: mutual TLS with the certificate in the data folder",
    )
    serve.add_argument(
        "--identity-jwks",
        type=Path,
        metavar="FILE",
        help="the identity provider's public keys (JWKS) that operators' tokens are "
        "checked with (with --network: identity/identity-provider.jwks.json in its pki folder)",
    )
    serve.add_argument(
        "--audience",
        help="the audience operators' tokens must name (default: the network file's, "
        "else caseledger)",
    )
    serve.add_argument(
        "--crl",
        type=Path,
        help="the network's revocation list, reloaded when it changes (default: ca.crl in "
        "the data folder; with --network: the pki folder's)",
    )
    serve.add_argument(
        "--metrics-port",
        type=int,
        metavar="PORT",
        help="serve Prometheus metrics on 127.0.0.1:PORT (default: none)",
    )
    serve.add_argument(
        "--log-format",
        choices=("json", "console"),
        default=defaults.get("CASELEDGER_LOG_FORMAT", "json"),
        help="JSON lines, or lines for a person [$CASELEDGER_LOG_FORMAT, default: %(default)s]",
    )
    network = sub.add_parser("network", help="run a whole network, one process per node")
    add_network_arguments(network)
    bench = sub.add_parser(
        "bench",
        prog="caseledger bench",
        help="benchmark P1: durable appends beside baselines",
    )
    bench.add_argument(
        "--clients", type=int, default=16, help="concurrent writers (default: %(default)s)"
    )
    bench.add_argument(
        "--seconds", type=float, default=5.0, help="length of each run (default: %(default)s)"
    )
    bench.add_argument("--json", type=Path, metavar="PATH", help="also write the report here")
    bench.add_argument(
        "--insecure",
        action="store_true",
        help="run the node in plaintext with no token checks (to compare; default: mutual "
        "TLS and a token checked on every call, as deployed)",
    )
    bench_cassandra = sub.add_parser(
        "bench-cassandra",
        prog="python -m caseledger.nodes bench-cassandra",
        help="benchmark the Cassandra store beside SQLite, with LWT costs",
    )
    bench_cassandra.add_argument(
        "--cassandra",
        default=defaults.get("CASELEDGER_CASSANDRA", "127.0.0.1:9042"),
        help="HOST:PORT [$CASELEDGER_CASSANDRA]",
    )
    bench_cassandra.add_argument(
        "--seconds", type=float, default=3.0, help="length of each run (default: %(default)s)"
    )
    bench_cassandra.add_argument(
        "--json", type=Path, metavar="PATH", help="also write the figures here"
    )
    reader = sub.add_parser(
        "views-reader",
        prog="python -m caseledger.nodes views-reader",
        help="let reporting tools read the views in PostgreSQL: a read-only role "
        "(docs/reporting-schema.md)",
    )
    reader.add_argument(
        "--dsn",
        default=defaults.get("CASELEDGER_VIEWS_DSN"),
        required="CASELEDGER_VIEWS_DSN" not in defaults,
        help="the views' database, as a role that may create roles and grant on the "
        "views' schemas [$CASELEDGER_VIEWS_DSN]",
    )
    reader.add_argument(
        "--role",
        default="caseledger_reader",
        help="the read-only role, made NOLOGIN when missing (default: %(default)s)",
    )
    pki = sub.add_parser(
        "pki",
        prog="caseledger network pki",
        help="the network PKI: CA, node certificates, revocation",
    )
    add_pki_arguments(pki)
    identity = sub.add_parser(
        "identity",
        prog="caseledger identity",
        help="operators' tokens: a development identity provider, token checks, roles",
    )
    add_identity_arguments(identity)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser(env_defaults()).parse_args(argv)
    if args.command == "network":
        return run_network(args)
    if args.command == "pki":
        return run_pki(args)
    if args.command == "views-reader":
        return _views_reader(args.dsn, args.role)
    if args.command == "identity":
        return run_identity(args)
    if args.command == "bench":
        from caseledger.nodes.bench.append import main as bench

        return bench(args.clients, args.seconds, args.json, args.insecure)
    if args.command == "bench-cassandra":
        from caseledger.nodes.bench.stores import main as bench_cassandra

        return bench_cassandra(args.cassandra, args.seconds, args.json)
    return _serve(args)


def _serve(args: argparse.Namespace) -> int:
    """`serve`: lock the node's stores, start it, run until SIGTERM or Ctrl-C."""
    configure_logging(args.log_format)
    log = structlog.get_logger("caseledger.nodes")
    from caseledger.ledger.codes.division import DivisionCode
    from caseledger.ledger.errors import InvalidInput

    try:
        code = str(DivisionCode.parse(args.code, "code"))
    except InvalidInput as error:
        print(f"caseledger node: {error}", file=sys.stderr)
        return BAD_INPUT
    defaults = env_defaults()
    failpoint = defaults.get("CASELEDGER_FAILPOINT", "")
    sources: list[Source] = []
    directory: dict[str, str] = {}
    if args.network is not None:
        try:
            network = load_network(args.network)
        except NetworkFileError as error:
            print(f"caseledger node: {error}", file=sys.stderr)
            return BAD_INPUT
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
            identity_jwks=args.identity_jwks or config.identity_jwks,
            identity_audience=args.audience or config.identity_audience,
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
            identity_jwks=args.identity_jwks,
            identity_audience=args.audience or "caseledger",
        )
    if args.views_dsn:
        config = dataclasses.replace(config, views_dsn=args.views_dsn)
    elif args.network is not None and network.views is not None and not config.views_dsn:
        print(
            f"caseledger node: node {code}: the network keeps views in PostgreSQL but names "
            "no database: give views.dsn, $CASELEDGER_VIEWS_DSN or --views-dsn",
            file=sys.stderr,
        )
        return BAD_INPUT
    node = _start(config, sources, directory)
    if isinstance(node, int):
        return node
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


def _views_reader(dsn: str, role: str) -> int:
    """`views-reader`: grant `role` reading every views schema of the database."""
    from eventsourcing.persistence import PersistenceError
    from psycopg import Error as DatabaseError

    from caseledger.projections.postgres_store import grant_reader

    try:
        schemas = grant_reader(dsn, role)
    except ValueError as error:
        print(f"caseledger node: views-reader: {error}", file=sys.stderr)
        return BAD_INPUT
    except (DatabaseError, PersistenceError) as error:
        print(f"caseledger node: views-reader: {str(error).strip()}", file=sys.stderr)
        return STORE_FAILED
    print(f"{role} reads {len(schemas)} views schema(s): {', '.join(schemas) or '-'}")
    return 0


def _start(
    config: NodeConfig, sources: list[Source], directory: dict[str, str]
) -> RunningNode | int:
    """The running node, or the exit status of a refusal already said on stderr."""
    try:
        # Held until this process ends: the kernel lets go of it even on SIGKILL.
        lock_store(config.data_dir, config.code)
    except StoreLocked as error:
        print(f"caseledger node: node {config.code}: {error}", file=sys.stderr)
        return IN_USE
    try:
        return start(config, sources, directory)
    except TrustError as error:
        print(f"caseledger node: {error}", file=sys.stderr)
        return BAD_INPUT
    except RuntimeError as error:
        if not str(error).startswith("Failed to bind"):
            raise
        reason = why_not_listening(config.listen)
        print(f"caseledger node: node {config.code}: {reason}", file=sys.stderr)
        return IN_USE
    except PersistenceError as error:
        # Unreachable, or (ConsistencyUnmet) too few replicas for its settings.
        print(f"caseledger node: node {config.code}: its store: {error}", file=sys.stderr)
        return STORE_FAILED


if __name__ == "__main__":
    sys.exit(main())
