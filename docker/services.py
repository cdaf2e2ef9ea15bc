"""Fetch, start, stop and check the real Kafka broker, Cassandra node, Toxiproxy and PostgreSQL.

    python docker/services.py fetch|start|stop|status|reset|classpath \
        kafka|cassandra|toxiproxy|postgres
    python docker/services.py fetch|start|stop|status|reset|kill \
        kafka-cluster|cassandra-cluster [--member N]

Both servers are assembled from their jars on Maven Central and run with
`java` directly (no Docker); Toxiproxy, the fault injector, is built from its
Go module with the Go toolchain (`fetch` builds it); PostgreSQL, where
nodes may keep their views, is Debian's `postgresql` package (`fetch`
installs it with apt-get when it is missing). Settings come from the
options below, then from CASELEDGER_* environment variables, then from the
defaults; see docs/services.md and, for Toxiproxy, docs/operations.md. Exit
status: 0 on success, 1 on failure, 2 on a usage error, 3 from `status` when
the service is not running.
"""

from __future__ import annotations

import argparse
import fcntl
import importlib
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cassandra_node
import kafka_broker
import postgres_server
import toxiproxy_server
from jar_fetch import JarSet, fetch
from jvm_process import ServerProcess, ServiceError

REPO_ROOT = Path(__file__).resolve().parent.parent
NOT_RUNNING = 3
# Three-member clusters on 127.0.0.1-3, each run by a module of its own with
# its own commands (`kill`, `--member`): see docs/services.md.
CLUSTERS = {"kafka-cluster": "kafka_cluster", "cassandra-cluster": "cassandra_cluster"}

Settings = (
    kafka_broker.KafkaSettings
    | cassandra_node.CassandraSettings
    | toxiproxy_server.ToxiproxySettings
    | postgres_server.PostgresSettings
)


@dataclass(frozen=True)
class Service:
    """Everything the commands need to know about one configured service."""

    name: str
    jars: JarSet | None  # None: not a JVM server (Toxiproxy is built, not fetched)
    work_dir: Path
    run_dir: Path
    process: ServerProcess
    settings: Settings
    ready_timeout_s: float
    stop_timeout_s: float

    def address(self) -> str:
        if isinstance(self.settings, postgres_server.PostgresSettings):
            return self.settings.dsn
        return f"127.0.0.1:{self.settings.port}"


def main(argv: list[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else argv
    if len(given) >= 2 and given[1] in CLUSTERS:
        cluster: int = importlib.import_module(CLUSTERS[given[1]]).main(given)
        return cluster
    args = _parser().parse_args(argv)
    try:
        service = _configure(args)
        command = {
            "fetch": _fetch,
            "start": _start,
            "stop": _stop,
            "status": _status,
            "reset": _reset,
            "classpath": _classpath,
        }[args.command]
        if args.command in {"start", "stop", "reset"}:
            # Two callers starting the same run folder at once (parallel test
            # workers, say) take turns; the second then finds it running.
            service.run_dir.mkdir(parents=True, exist_ok=True)
            with (service.run_dir / ".lock").open("w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                return command(service)
        return command(service)
    except ServiceError as failure:
        print(f"error: {failure}", file=sys.stderr)
        return 1


def _fetch(service: Service) -> int:
    if isinstance(service.settings, toxiproxy_server.ToxiproxySettings):
        return _build(service.settings)
    if isinstance(service.settings, postgres_server.PostgresSettings):
        return _install()
    assert service.jars is not None
    ran, seconds = fetch(service.jars, service.work_dir)
    jar_count = len(list(service.jars.lib_dir.glob("*.jar")))
    if ran:
        print(
            f"{service.name}: fetched {jar_count} jars into {service.jars.lib_dir} "
            f"in {seconds:.1f} s"
        )
    else:
        print(f"{service.name}: {jar_count} jars already in {service.jars.lib_dir} (cached)")
    return 0


def _build(settings: toxiproxy_server.ToxiproxySettings) -> int:
    ran, seconds = toxiproxy_server.build(settings)
    pinned = f"{toxiproxy_server.MODULE}@{toxiproxy_server.VERSION}"
    if ran:
        print(f"toxiproxy: built {pinned} into {settings.binary} in {seconds:.1f} s")
    else:
        print(f"toxiproxy: {pinned} already built in {settings.binary} (cached)")
    return 0


def _install() -> int:
    ran, seconds = postgres_server.install()
    where = postgres_server.bin_dir()
    if ran:
        package = postgres_server.PACKAGE
        print(f"postgres: installed Debian's {package} into {where} in {seconds:.1f} s")
    else:
        print(f"postgres: server already installed in {where}")
    return 0


def _start(service: Service) -> int:
    running = service.process.running_pid()
    if running is not None:
        print(
            f"{service.name}: already running (pid {running}) on "
            f"{service.process.running_address()}; nothing to do"
        )
        return 0
    if service.jars is not None and shutil.which("java") is None:
        raise ServiceError("java not found on PATH; both servers need Java 17")
    _fetch(service)
    busy = _busy_ports(service)
    if busy:
        raise ServiceError(
            f"{service.name}: port(s) {', '.join(map(str, busy))} on 127.0.0.1 are "
            "taken by another process; choose free ones (see --help)"
        )
    started = time.monotonic()
    command = _prepare(service)
    child = service.process.launch(command, cwd=service.run_dir, address=service.address())
    pid = child.pid
    print(
        f"{service.name}: started pid {pid}; waiting up to "
        f"{service.ready_timeout_s:.0f} s for it to answer"
    )
    service.process.wait_ready(child, lambda: _is_ready(service), service.ready_timeout_s)
    print(
        f"{service.name}: ready on {service.address()} (pid {pid}) "
        f"after {time.monotonic() - started:.1f} s; logs in {service.process.service_log.parent}"
    )
    return 0


def _stop(service: Service) -> int:
    stopped = service.process.terminate(service.stop_timeout_s)
    if stopped is None:
        print(f"{service.name}: not running; nothing to stop")
    else:
        print(f"{service.name}: stopped pid {stopped}")
    return 0


def _status(service: Service) -> int:
    pid = service.process.running_pid()
    if pid is None:
        print(f"{service.name}: not running")
        return NOT_RUNNING
    print(f"{service.name}: running (pid {pid}) on {service.process.running_address()}")
    return 0


def _reset(service: Service) -> int:
    if service.process.running_pid() is not None:
        raise ServiceError(f"{service.name}: running; stop it before a reset")
    shutil.rmtree(service.run_dir, ignore_errors=True)
    if isinstance(service.settings, postgres_server.PostgresSettings):
        # As root the cluster is kept apart from the run folder (postgres_server).
        shutil.rmtree(service.settings.data_dir.parent, ignore_errors=True)
    print(f"{service.name}: removed {service.run_dir} (data, logs, config)")
    return 0


def _classpath(service: Service) -> int:
    if service.jars is None:
        raise ServiceError(f"{service.name} has no classpath: it is not a JVM server")
    print(f"{service.jars.lib_dir}/*")
    return 0


def _busy_ports(service: Service) -> list[int]:
    if isinstance(service.settings, kafka_broker.KafkaSettings):
        return kafka_broker.busy_ports(service.settings)
    if isinstance(service.settings, toxiproxy_server.ToxiproxySettings):
        return toxiproxy_server.busy_ports(service.settings)
    if isinstance(service.settings, postgres_server.PostgresSettings):
        return postgres_server.busy_ports(service.settings)
    return cassandra_node.busy_ports(service.settings)


def _prepare(service: Service) -> list[str]:
    if isinstance(service.settings, kafka_broker.KafkaSettings):
        kafka_broker.prepare(service.settings)
        return kafka_broker.start_command(service.settings)
    if isinstance(service.settings, toxiproxy_server.ToxiproxySettings):
        toxiproxy_server.prepare(service.settings)
        return toxiproxy_server.start_command(service.settings)
    if isinstance(service.settings, postgres_server.PostgresSettings):
        postgres_server.prepare(service.settings)
        return postgres_server.start_command(service.settings)
    cassandra_node.prepare(service.settings)
    return cassandra_node.start_command(service.settings)


def _is_ready(service: Service) -> bool:
    if isinstance(service.settings, kafka_broker.KafkaSettings):
        return kafka_broker.is_ready(service.settings)
    if isinstance(service.settings, toxiproxy_server.ToxiproxySettings):
        return toxiproxy_server.is_ready(service.settings)
    if isinstance(service.settings, postgres_server.PostgresSettings):
        return postgres_server.is_ready(service.settings)
    return cassandra_node.is_ready(service.settings)


def _configure(args: argparse.Namespace) -> Service:
    """Resolve options over environment over defaults; the one place env is read."""
    name: str = args.service
    prefix = f"CASELEDGER_{name.upper()}_"
    home = Path(args.home or os.environ.get("CASELEDGER_SERVICES_HOME") or REPO_ROOT / ".services")
    lib_dir = Path(
        args.lib_dir or os.environ.get(prefix + "LIB_DIR") or home / name / "lib"
    ).resolve()
    run_dir = Path(
        args.run_dir or os.environ.get(prefix + "RUN_DIR") or home / name / "run"
    ).resolve()
    port = int(args.port or os.environ.get(prefix + "PORT") or 0)
    heap = args.heap or os.environ.get(prefix + "HEAP")
    settings: Settings
    jars: JarSet | None
    if name == "toxiproxy":
        for given, option in (
            (args.controller_port, "--controller-port"),
            (args.storage_port, "--storage-port"),
            (args.heap, "--heap"),
        ):
            if given is not None:
                raise ServiceError(f"{option} does not apply to toxiproxy")
        settings = toxiproxy_server.ToxiproxySettings(
            lib_dir=lib_dir, run_dir=run_dir, port=port or 8474
        )
        jars = None
        process = toxiproxy_server.server_process(settings)
        ready_default, stop_default = 30.0, 10.0
    elif name == "postgres":
        for given, option in (
            (args.controller_port, "--controller-port"),
            (args.storage_port, "--storage-port"),
            (args.heap, "--heap"),
            (args.lib_dir, "--lib-dir"),
        ):
            if given is not None:
                raise ServiceError(f"{option} does not apply to postgres")
        settings = postgres_server.PostgresSettings(run_dir=run_dir, port=port or 5432)
        jars = None
        process = postgres_server.server_process(settings)
        ready_default, stop_default = 60.0, 30.0
    elif name == "kafka":
        if args.storage_port is not None:
            raise ServiceError("--storage-port applies to cassandra only")
        controller = int(args.controller_port or os.environ.get(prefix + "CONTROLLER_PORT") or 9093)
        settings = kafka_broker.KafkaSettings(
            lib_dir=lib_dir,
            run_dir=run_dir,
            port=port or 9092,
            controller_port=controller,
            heap=heap or "512m",
        )
        jars = kafka_broker.jar_set(lib_dir)
        process = kafka_broker.server_process(settings)
        ready_default, stop_default = 90.0, 60.0
    else:
        if args.controller_port is not None:
            raise ServiceError("--controller-port applies to kafka only")
        storage = int(args.storage_port or os.environ.get(prefix + "STORAGE_PORT") or 7000)
        settings = cassandra_node.CassandraSettings(
            lib_dir=lib_dir,
            run_dir=run_dir,
            port=port or 9042,
            storage_port=storage,
            heap=heap or "1g",
        )
        jars = cassandra_node.jar_set(lib_dir)
        process = cassandra_node.server_process(settings)
        ready_default, stop_default = 240.0, 90.0
    timeout = args.timeout or os.environ.get(prefix + "TIMEOUT")
    return Service(
        name=name,
        jars=jars,
        work_dir=lib_dir.parent / "maven",
        run_dir=run_dir,
        process=process,
        settings=settings,
        ready_timeout_s=float(timeout) if timeout else ready_default,
        stop_timeout_s=stop_default,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python docker/services.py",
        description="Fetch, start, stop and check the real Kafka broker, Cassandra node, "
        "Toxiproxy and PostgreSQL.",
    )
    parser.add_argument(
        "command",
        choices=["fetch", "start", "stop", "status", "reset", "classpath"],
        help="fetch jars (toxiproxy: build it; postgres: install Debian's package); "
        "start (fetching first) and wait until ready; "
        "stop by pid file; "
        "status (exit 3 when not running); reset removes data, logs and config; "
        "classpath prints the java -cp value (for the Kafka perf tools)",
    )
    parser.add_argument("service", choices=["kafka", "cassandra", "toxiproxy", "postgres"])
    parser.add_argument(
        "--home", help="root of jars and run folders [$CASELEDGER_SERVICES_HOME or ./.services]"
    )
    parser.add_argument(
        "--lib-dir",
        help="jar folder, toxiproxy's binary folder "
        "[$CASELEDGER_<SERVICE>_LIB_DIR or <home>/<service>/lib]",
    )
    parser.add_argument(
        "--run-dir",
        help="config, data, logs and pid [$CASELEDGER_<SERVICE>_RUN_DIR or <home>/<service>/run]",
    )
    parser.add_argument(
        "--port",
        type=int,
        help="client port: Kafka PLAINTEXT 9092, Cassandra CQL 9042, Toxiproxy's HTTP API 8474, "
        "PostgreSQL 5432 "
        "[$CASELEDGER_<SERVICE>_PORT]",
    )
    parser.add_argument(
        "--controller-port",
        type=int,
        help="Kafka CONTROLLER port [$CASELEDGER_KAFKA_CONTROLLER_PORT or 9093]",
    )
    parser.add_argument(
        "--storage-port",
        type=int,
        help="Cassandra storage port [$CASELEDGER_CASSANDRA_STORAGE_PORT or 7000]",
    )
    parser.add_argument(
        "--heap",
        help="JVM heap, e.g. 512m, 1g [$CASELEDGER_<SERVICE>_HEAP; 512m Kafka, 1g Cassandra]",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        help="seconds to wait until ready "
        "[$CASELEDGER_<SERVICE>_TIMEOUT; 90 Kafka, 240 Cassandra, 30 Toxiproxy, 60 PostgreSQL]",
    )
    return parser


if __name__ == "__main__":
    sys.exit(main())
