"""A three-broker Apache Kafka cluster on one machine, for tests and local runs.

    python docker/services.py fetch|start|stop|status|reset|kill kafka-cluster [--member N]
    python docker/services.py status kafka-cluster --bootstrap

Member N (1, 2, 3) listens on 127.0.0.N (every address of 127.0.0.0/8 is
the loopback interface): clients on port 19092, the KRaft controllers on
19093, beside a single broker on 127.0.0.1:9092/9093. Each member is a
broker and one of the three voters, with its own run folder
(`<home>/kafka-cluster/run/member-N`: conf, data, logs, pid); the jars are
the single broker's (`<home>/kafka/lib`). Topics are created with three
replicas and `min.insync.replicas` 2, unclean leader election off
(docker/kafka-broker/cluster.properties.template).

`start` without `--member` starts every member that is not running at once
(a voter waits for the others to elect a leader) and returns when the
cluster lists three unfenced brokers; `start --member N` starts one and
waits until it is one of them. `stop` is a graceful shutdown, `kill` is
SIGKILL. `status` prints each member and exits 3 when any is down; with
`--bootstrap` it prints only the comma-separated client addresses.
"""

from __future__ import annotations

import argparse
import fcntl
import functools
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import kafka_broker
from jar_fetch import fetch
from jvm_process import ServerProcess, ServiceError

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVICE = "kafka-cluster"
MEMBERS = (1, 2, 3)
NOT_RUNNING = 3
PREFIX = "CASELEDGER_KAFKA_CLUSTER_"


@dataclass(frozen=True)
class Member:
    """One broker of the cluster: its settings and its process."""

    number: int
    settings: kafka_broker.KafkaSettings
    process: ServerProcess

    @property
    def name(self) -> str:
        return f"{SERVICE} member {self.number}"


@dataclass(frozen=True)
class Cluster:
    home: Path
    members: tuple[Member, ...]
    ready_timeout_s: float
    stop_timeout_s: float

    @property
    def run_dir(self) -> Path:
        return self.home / SERVICE / "run"

    @property
    def bootstrap(self) -> str:
        return ",".join(m.settings.bootstrap for m in self.members)

    def chosen(self, number: int | None) -> tuple[Member, ...]:
        return self.members if number is None else (self.members[number - 1],)


def configure(
    home: Path, port: int, controller_port: int, heap: str, ready_timeout_s: float
) -> Cluster:
    lib_dir = (home / "kafka" / "lib").resolve()
    run_dir = (home / SERVICE / "run").resolve()
    hosts = {n: f"127.0.0.{n}" for n in MEMBERS}
    voters = ",".join(f"{n}@{hosts[n]}:{controller_port}" for n in MEMBERS)
    members = []
    for n in MEMBERS:
        settings = kafka_broker.KafkaSettings(
            lib_dir=lib_dir,
            run_dir=run_dir / f"member-{n}",
            port=port,
            controller_port=controller_port,
            heap=heap,
            host=hosts[n],
            node_id=n,
            voters=voters,
            template="cluster.properties.template",
            cluster_id_file=run_dir / "cluster-id",
        )
        process = kafka_broker.server_process(settings)
        members.append(Member(n, settings, process))
    return Cluster(home, tuple(members), ready_timeout_s, stop_timeout_s=60.0)


def main(argv: Sequence[str]) -> int:
    try:
        args = _parser().parse_args(list(argv))
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        if args.bootstrap and args.command != "status":
            raise _Usage("--bootstrap applies to status only")
        if args.member is not None and args.command in {"fetch", "reset"}:
            raise _Usage(f"--member does not apply to {args.command}")
        if args.command == "kill" and args.member is None:
            raise _Usage("kill needs --member N (stop takes the whole cluster down)")
        cluster = _configure(args)
        if args.command == "fetch":
            return _fetch(cluster)
        if args.command == "status":
            return _status(cluster, args.member, bootstrap_only=args.bootstrap)
        with _locked(cluster.run_dir):
            command: Callable[[Cluster, int | None], int] = {
                "start": _start,
                "stop": _stop,
                "kill": _kill,
                "reset": _reset,
            }[args.command]
            return command(cluster, args.member)
    except _Usage as usage:
        print(f"error: {usage}", file=sys.stderr)
        return 2
    except ServiceError as failure:
        print(f"error: {failure}", file=sys.stderr)
        return 1


class _Usage(Exception):
    """A command line that asks for something the cluster does not do."""


@contextmanager
def _locked(run_dir: Path) -> Iterator[None]:
    """One start, stop, kill or reset of the cluster at a time."""
    run_dir.mkdir(parents=True, exist_ok=True)
    with (run_dir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _fetch(cluster: Cluster) -> int:
    lib_dir = cluster.members[0].settings.lib_dir
    jars = kafka_broker.jar_set(lib_dir)
    ran, seconds = fetch(jars, lib_dir.parent / "maven")
    count = len(list(lib_dir.glob("*.jar")))
    state = f"fetched in {seconds:.1f} s" if ran else "cached"
    print(f"{SERVICE}: {count} jars in {lib_dir} ({state})")
    return 0


def _start(cluster: Cluster, number: int | None) -> int:
    if shutil.which("java") is None:
        raise ServiceError("java not found on PATH; Kafka needs Java 17")
    _fetch(cluster)
    started = time.monotonic()
    children: dict[int, subprocess.Popen[bytes]] = {}
    for member in cluster.chosen(number):
        pid = member.process.running_pid()
        if pid is not None:
            print(f"{member.name}: already running (pid {pid}) on {member.settings.bootstrap}")
            continue
        busy = kafka_broker.busy_ports(member.settings)
        if busy:
            raise ServiceError(
                f"{member.name}: port(s) {', '.join(map(str, busy))} on "
                f"{member.settings.host} are taken by another process"
            )
        kafka_broker.prepare(member.settings)
        command = kafka_broker.start_command(member.settings)
        child = member.process.launch(
            command, cwd=member.settings.run_dir, address=member.settings.bootstrap
        )
        children[member.number] = child
        print(f"{member.name}: started pid {child.pid} on {member.settings.bootstrap}")
    if not children:
        return 0
    print(f"{SERVICE}: waiting up to {cluster.ready_timeout_s:.0f} s for the brokers to answer")
    deadline = started + cluster.ready_timeout_s
    for n, child in children.items():
        member = cluster.members[n - 1]
        member.process.wait_ready(
            child,
            functools.partial(_member_ready, member),
            max(deadline - time.monotonic(), 1.0),
        )
    if number is None:
        _wait_for_all(cluster, deadline)
    print(
        f"{SERVICE}: ready after {time.monotonic() - started:.1f} s; "
        f"bootstrap {cluster.bootstrap}; logs in {cluster.run_dir}/member-N/logs"
    )
    return 0


def _member_ready(member: Member) -> bool:
    """The member answers a metadata request and lists itself as an unfenced broker."""
    if not kafka_broker.is_ready(member.settings):
        return False
    return member.number in _live_brokers(member.settings.bootstrap)


def _wait_for_all(cluster: Cluster, deadline: float) -> None:
    while time.monotonic() < deadline:
        if set(_live_brokers(cluster.bootstrap)) >= set(MEMBERS):
            return
        time.sleep(0.5)
    raise ServiceError(f"{SERVICE}: the cluster did not list all three brokers in time")


def _live_brokers(bootstrap: str) -> list[int]:
    """The ids of the unfenced brokers the cluster lists, or [] when it does not answer."""
    from kafka import KafkaAdminClient

    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap.split(","),
            client_id="caseledger-services-ready",
            request_timeout_ms=3000,
        )
    except Exception:  # any failure only means "not yet"
        return []
    try:
        described = admin.describe_cluster()
        return [int(b["broker_id"]) for b in described["brokers"] if not b.get("is_fenced", False)]
    except Exception:
        return []
    finally:
        admin.close()


def _stop(cluster: Cluster, number: int | None) -> int:
    # All at once: stopped one by one, the last voters would lose their
    # quorum and wait for a controller that never answers before exiting.
    chosen = cluster.chosen(number)
    with ThreadPoolExecutor(max_workers=len(chosen)) as pool:
        stopped = list(pool.map(lambda m: m.process.terminate(cluster.stop_timeout_s), chosen))
    for member, pid in zip(chosen, stopped, strict=True):
        state = "not running" if pid is None else f"stopped pid {pid}"
        print(f"{member.name}: {state}")
    return 0


def _kill(cluster: Cluster, number: int | None) -> int:
    for member in cluster.chosen(number):
        pid = member.process.running_pid()
        if pid is None:
            print(f"{member.name}: not running; nothing to kill")
            continue
        killer = ServerProcess(
            name=member.process.name,
            pid_file=member.process.pid_file,
            marker=member.process.marker,
            console_log=member.process.console_log,
            service_log=member.process.service_log,
            stop_signal=signal.SIGKILL,
        )
        killer.terminate(timeout_s=10.0)
        print(f"{member.name}: killed pid {pid} (SIGKILL)")
    return 0


def _status(cluster: Cluster, number: int | None, *, bootstrap_only: bool) -> int:
    down = [m for m in cluster.chosen(number) if m.process.running_pid() is None]
    if bootstrap_only:
        print(cluster.bootstrap)
        if down:
            names = ", ".join(str(m.number) for m in down)
            print(f"{SERVICE}: member(s) {names} not running", file=sys.stderr)
        return NOT_RUNNING if down else 0
    for member in cluster.chosen(number):
        pid = member.process.running_pid()
        state = "not running" if pid is None else f"running (pid {pid})"
        print(f"{member.name}: {state} on {member.settings.bootstrap}")
    return NOT_RUNNING if down else 0


def _reset(cluster: Cluster, number: int | None) -> int:
    running = [m.number for m in cluster.members if m.process.running_pid() is not None]
    if running:
        raise ServiceError(
            f"{SERVICE}: member(s) {', '.join(map(str, running))} running; stop it first"
        )
    shutil.rmtree(cluster.run_dir, ignore_errors=True)
    print(f"{SERVICE}: removed {cluster.run_dir} (data, logs, config of every member)")
    return 0


def _configure(args: argparse.Namespace) -> Cluster:
    """Options over CASELEDGER_KAFKA_CLUSTER_* over defaults."""
    home = Path(args.home or os.environ.get("CASELEDGER_SERVICES_HOME") or REPO_ROOT / ".services")
    port = int(args.port or os.environ.get(PREFIX + "PORT") or 19092)
    controller = int(args.controller_port or os.environ.get(PREFIX + "CONTROLLER_PORT") or 19093)
    if port == controller:
        raise _Usage("the client and controller ports must differ")
    heap = args.heap or os.environ.get(PREFIX + "HEAP") or "384m"
    timeout = float(args.timeout or os.environ.get(PREFIX + "TIMEOUT") or 180.0)
    return configure(home.resolve(), port, controller, heap, timeout)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python docker/services.py",
        description="Fetch, start, stop, kill and check the three-broker Kafka cluster.",
    )
    parser.add_argument("command", choices=["fetch", "start", "stop", "status", "reset", "kill"])
    parser.add_argument("service", choices=[SERVICE])
    parser.add_argument(
        "--member", type=int, choices=MEMBERS, help="one member (1-3) instead of all"
    )
    parser.add_argument(
        "--bootstrap",
        action="store_true",
        help="status: print only the client addresses, comma-separated",
    )
    parser.add_argument(
        "--home", help="root of jars and run folders [$CASELEDGER_SERVICES_HOME or ./.services]"
    )
    parser.add_argument(
        "--port", type=int, help=f"client port of every member [${PREFIX}PORT or 19092]"
    )
    parser.add_argument(
        "--controller-port",
        type=int,
        help=f"controller port of every member [${PREFIX}CONTROLLER_PORT or 19093]",
    )
    parser.add_argument("--heap", help=f"JVM heap of each member [${PREFIX}HEAP or 384m]")
    parser.add_argument(
        "--timeout", type=float, help=f"seconds to wait until ready [${PREFIX}TIMEOUT or 180]"
    )
    return parser
