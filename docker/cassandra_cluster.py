"""A three-node Apache Cassandra cluster on one machine, for tests and local runs.

    python docker/services.py fetch|start|stop|status|reset|kill cassandra-cluster [--member N]
    python docker/services.py status cassandra-cluster --contact-points

Member N (1, 2, 3) listens on 127.0.0.N (every address of 127.0.0.0/8 is
the loopback interface): CQL on port 19042, the storage (gossip and
replication) port on 17000, beside a single node on 127.0.0.1:9042/7000.
No member opens JMX (none is asked for), so nothing else is bound. Each
member has its own run folder (`<home>/cassandra-cluster/run/member-N`:
conf, data, logs, pid); the jars are the single node's
(`<home>/cassandra/lib`). One cluster name, one data centre
(`datacenter1`), one token per node; every member is a seed. The system
tables are synced as Cassandra does by default (unlike the single test
node): a member killed -9 keeps the schema it acknowledged.

A fresh cluster starts without bootstrapping (there is no data to stream,
and a bootstrap waits out the ring delay and lets one node join at a
time): member 1 first, then 2 and 3 together once 1 answers; a later
start of all three takes the same order. `start`
returns when every member answers CQL and sees the other two alive (a
read at consistency ALL of a keyspace of replication factor 3, coordinated
by each member in turn). `start --member N` starts one member with its
data and waits until the live members all see it. `stop` is a graceful
shutdown, `kill --member N` is SIGKILL. `status` prints each member and
exits 3 when any is down; with `--contact-points` it prints only the
comma-separated CQL addresses. docs/services.md has the measured times.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import shutil
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cassandra_node
from jar_fetch import fetch
from jvm_process import ServerProcess, ServiceError

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVICE = "cassandra-cluster"
MEMBERS = (1, 2, 3)
NOT_RUNNING = 3
USAGE = 2
PREFIX = "CASELEDGER_CASSANDRA_CLUSTER_"
# Start-up of a member: no wait for gossip to settle beyond what it needs
# (a restarted member learns the ring from its saved peers), a short ring
# delay, and nodes of a fresh cluster join without streaming.
MEMBER_PROPERTIES = (
    "-Dcassandra.ring_delay_ms=5000",
    "-Dcassandra.consistent.rangemovement=false",
)
# A keyspace of replication factor 3 that every Cassandra has: reading it at
# consistency ALL tells whether the coordinator sees all three replicas alive.
_PROBE = (
    "SELECT keyspace_name FROM system_distributed.view_build_status "
    "WHERE keyspace_name = 'probe' AND view_name = 'probe'"
)


@dataclass(frozen=True)
class Member:
    """One node of the cluster: its settings and its process."""

    number: int
    settings: cassandra_node.CassandraSettings
    process: ServerProcess

    @property
    def name(self) -> str:
        return f"{SERVICE} member {self.number}"

    @property
    def address(self) -> str:
        return f"{self.settings.address}:{self.settings.port}"


@dataclass(frozen=True)
class Cluster:
    run_dir: Path
    lib_dir: Path
    members: tuple[Member, ...]
    ready_timeout_s: float
    stop_timeout_s: float

    @property
    def contact_points(self) -> str:
        return ",".join(m.address for m in self.members)

    def chosen(self, number: int | None) -> tuple[Member, ...]:
        return self.members if number is None else (self.members[number - 1],)

    def running(self) -> tuple[Member, ...]:
        return tuple(m for m in self.members if m.process.running_pid() is not None)


def configure(
    run_dir: Path,
    lib_dir: Path,
    *,
    port: int = 19042,
    storage_port: int = 17000,
    heap: str = "768m",
    ready_timeout_s: float = 300.0,
) -> Cluster:
    # Every member is a seed: a seed that finds no peer goes on alone, so any
    # member restarts whichever others are down (a non-seed refuses to start
    # without one: "Unable to gossip with any peers").
    seeds = ",".join(f"127.0.0.{n}:{storage_port}" for n in MEMBERS)
    members = []
    for number in MEMBERS:
        settings = cassandra_node.CassandraSettings(
            lib_dir=lib_dir,
            run_dir=run_dir / f"member-{number}",
            port=port,
            storage_port=storage_port,
            heap=heap,
            address=f"127.0.0.{number}",
            seeds=seeds,
            auto_bootstrap=False,
            unsafe_system=False,
            properties=MEMBER_PROPERTIES,
        )
        members.append(Member(number, settings, cassandra_node.server_process(settings)))
    return Cluster(run_dir, lib_dir, tuple(members), ready_timeout_s, stop_timeout_s=120.0)


def main(argv: Sequence[str]) -> int:
    try:
        args = _parser().parse_args(list(argv))
    except SystemExit as exit_:
        return int(exit_.code or 0)
    if args.contact_points and args.command != "status":
        print("error: --contact-points goes with status only", file=sys.stderr)
        return USAGE
    if args.command == "kill" and args.member is None:
        print("error: kill needs --member N (1, 2 or 3)", file=sys.stderr)
        return USAGE
    try:
        cluster = _configure(args)
        if args.command == "fetch":
            return _fetch(cluster)
        if args.command == "status":
            return _status(cluster, args.member, contact_points_only=args.contact_points)
        command: Callable[[Cluster, int | None], int] = {
            "start": _start,
            "stop": _stop,
            "kill": _kill,
            "reset": _reset,
        }[args.command]
        with _locked(cluster.run_dir):
            return command(cluster, args.member)
    except ServiceError as failure:
        print(f"error: {failure}", file=sys.stderr)
        return 1


@contextmanager
def _locked(run_dir: Path) -> Iterator[None]:
    """Two callers changing the cluster at once take turns."""
    run_dir.mkdir(parents=True, exist_ok=True)
    with (run_dir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _fetch(cluster: Cluster) -> int:
    jars = cassandra_node.jar_set(cluster.lib_dir)
    ran, seconds = fetch(jars, cluster.lib_dir.parent / "maven")
    count = len(list(cluster.lib_dir.glob("*.jar")))
    state = f"fetched in {seconds:.1f} s" if ran else "cached"
    print(f"{SERVICE}: {count} jars in {cluster.lib_dir} ({state})")
    return 0


def _start(cluster: Cluster, number: int | None) -> int:
    if shutil.which("java") is None:
        raise ServiceError("java not found on PATH; Cassandra needs Java 17")
    _fetch(cluster)
    started = time.monotonic()
    deadline = started + cluster.ready_timeout_s
    wanted = cluster.chosen(number)
    idle = [m for m in wanted if m.process.running_pid() is None]
    for member in wanted:
        if member not in idle:
            print(f"{member.name}: already running (pid {member.process.running_pid()})")
    for member in idle:
        busy = cassandra_node.busy_ports(member.settings)
        if busy:
            raise ServiceError(
                f"{member.name}: port(s) {', '.join(map(str, busy))} on "
                f"{member.settings.address} are taken by another process"
            )
    if cluster.members[0] in idle and len(idle) > 1:
        # Member 1 alone first: in a fresh cluster the others then join its
        # ring instead of each founding one of their own, and later ones find
        # a peer to learn the ring from at once.
        _launch(cluster.members[0], deadline)
        idle = idle[1:]
    _launch_together(idle, deadline)
    _wait(
        lambda: _all_see_each_other(cluster),
        deadline,
        cluster,
        "every live member to see the others",
    )
    print(
        f"{SERVICE}: ready on {cluster.contact_points} after "
        f"{time.monotonic() - started:.1f} s; logs in {cluster.run_dir}/member-N/logs"
    )
    return 0


def _launch(member: Member, deadline: float) -> None:
    _launch_together([member], deadline)


def _launch_together(members: Sequence[Member], deadline: float) -> None:
    """Start `members` at once and wait until each answers CQL."""
    children = []
    for member in members:
        cassandra_node.prepare(member.settings)
        command = cassandra_node.start_command(member.settings)
        child = member.process.launch(command, cwd=member.settings.run_dir, address=member.address)
        print(f"{member.name}: started pid {child.pid} on {member.address}")
        children.append((member, child))
    failures: list[str] = []

    def wait_one(member: Member, child: Any) -> None:
        try:
            timeout = max(deadline - time.monotonic(), 1.0)
            seconds = member.process.wait_ready(
                child, lambda: cassandra_node.is_ready(member.settings), timeout
            )
            print(f"{member.name}: answers CQL after {seconds:.1f} s")
        except ServiceError as failure:
            failures.append(f"{member.name}: {failure}")

    threads = [threading.Thread(target=wait_one, args=pair) for pair in children]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise ServiceError("\n".join(failures))


def _wait(condition: Callable[[], bool], deadline: float, cluster: Cluster, what: str) -> None:
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(1.0)
    down = [m.name for m in cluster.members if m.process.running_pid() is None]
    raise ServiceError(
        f"{SERVICE}: gave up waiting for {what} after {cluster.ready_timeout_s:.0f} s"
        + (f" ({', '.join(down)} not running)" if down else "")
        + f"; logs in {cluster.run_dir}/member-N/logs"
    )


def _all_see_each_other(cluster: Cluster) -> bool:
    """Every running member, as coordinator, counts exactly the running members alive."""
    running = cluster.running()
    return bool(running) and all(alive_seen_by(m) == len(running) for m in running)


def alive_seen_by(member: Member) -> int | None:
    """How many of the three replicas `member` believes alive (None: it does not answer).

    A read at ALL of a replication-factor-3 keyspace succeeds when all three
    are alive; otherwise the coordinator refuses it and says how many it sees.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the driver's asyncore fallback on 3.11
        from cassandra import ConsistencyLevel, Unavailable
        from cassandra.cluster import Cluster as DriverCluster
        from cassandra.cluster import NoHostAvailable
        from cassandra.policies import WhiteListRoundRobinPolicy
        from cassandra.query import SimpleStatement
    driver = DriverCluster(
        contact_points=[member.settings.address],
        port=member.settings.port,
        load_balancing_policy=WhiteListRoundRobinPolicy([member.settings.address]),
        protocol_version=5,
        connect_timeout=5,
        schema_metadata_enabled=False,
        token_metadata_enabled=False,
    )
    try:
        session = driver.connect()
        statement = SimpleStatement(_PROBE, consistency_level=ConsistencyLevel.ALL)
        try:
            session.execute(statement, timeout=10)
        except Unavailable as refused:
            return int(refused.alive_replicas)
        except NoHostAvailable as refused:
            answers = [a for a in refused.errors.values() if isinstance(a, Unavailable)]
            return int(answers[0].alive_replicas) if answers else None
        return len(MEMBERS)
    except Exception:  # not answering, or a read timeout: not settled yet
        return None
    finally:
        driver.shutdown()


def _stop(cluster: Cluster, number: int | None) -> int:
    def stop_one(member: Member) -> None:
        stopped = member.process.terminate(cluster.stop_timeout_s)
        print(
            f"{member.name}: not running; nothing to stop"
            if stopped is None
            else f"{member.name}: stopped pid {stopped}"
        )

    threads = [threading.Thread(target=stop_one, args=(m,)) for m in cluster.chosen(number)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return 0


def _kill(cluster: Cluster, number: int | None) -> int:
    for member in cluster.chosen(number):
        pid = member.process.running_pid()
        if pid is None:
            print(f"{member.name}: not running; nothing to kill")
            continue
        os.kill(pid, signal.SIGKILL)
        # Reaped by init (it runs in its own session); wait until it is gone.
        deadline = time.monotonic() + 30.0
        while member.process.running_pid() is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        member.process.pid_file.unlink(missing_ok=True)
        print(f"{member.name}: killed pid {pid} (SIGKILL)")
    return 0


def _status(cluster: Cluster, number: int | None, *, contact_points_only: bool) -> int:
    members = cluster.chosen(number)
    down = [m for m in members if m.process.running_pid() is None]
    if contact_points_only:
        if down:
            names = ", ".join(m.name for m in down)
            print(f"{SERVICE}: {names} not running", file=sys.stderr)
            return NOT_RUNNING
        print(",".join(m.address for m in members))
        return 0
    for member in members:
        pid = member.process.running_pid()
        state = "not running" if pid is None else f"running (pid {pid})"
        print(f"{member.name}: {state} on {member.address}")
    return NOT_RUNNING if down else 0


def _reset(cluster: Cluster, number: int | None) -> int:
    members = cluster.chosen(number)
    running = [m.name for m in members if m.process.running_pid() is not None]
    if running:
        raise ServiceError(f"{', '.join(running)} running; stop it before a reset")
    for member in members:
        shutil.rmtree(member.settings.run_dir, ignore_errors=True)
        print(f"{member.name}: removed {member.settings.run_dir} (data, logs, config)")
    return 0


def _configure(args: argparse.Namespace) -> Cluster:
    """Options over environment over defaults."""
    home = Path(args.home or os.environ.get("CASELEDGER_SERVICES_HOME") or REPO_ROOT / ".services")
    run_dir = Path(
        args.run_dir or os.environ.get(PREFIX + "RUN_DIR") or home / SERVICE / "run"
    ).resolve()
    lib_dir = Path(
        args.lib_dir or os.environ.get("CASELEDGER_CASSANDRA_LIB_DIR") or home / "cassandra" / "lib"
    ).resolve()
    timeout = args.timeout or os.environ.get(PREFIX + "TIMEOUT")
    return configure(
        run_dir,
        lib_dir,
        port=int(args.port or os.environ.get(PREFIX + "PORT") or 19042),
        storage_port=int(args.storage_port or os.environ.get(PREFIX + "STORAGE_PORT") or 17000),
        heap=args.heap or os.environ.get(PREFIX + "HEAP") or "768m",
        ready_timeout_s=float(timeout) if timeout else 300.0,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python docker/services.py",
        description="The three-node Cassandra cluster on 127.0.0.1-3.",
    )
    parser.add_argument("command", choices=["fetch", "start", "stop", "status", "reset", "kill"])
    parser.add_argument("service", choices=[SERVICE])
    parser.add_argument(
        "--member", type=int, choices=MEMBERS, help="one member (1, 2, 3) instead of all"
    )
    parser.add_argument(
        "--contact-points",
        action="store_true",
        help="status: print only host:port,... of the members (exit 3 if any is down)",
    )
    parser.add_argument(
        "--home", help="root of jars and run folders [$CASELEDGER_SERVICES_HOME or ./.services]"
    )
    parser.add_argument(
        "--run-dir",
        help=f"the members' folders member-N [${PREFIX}RUN_DIR or <home>/{SERVICE}/run]",
    )
    parser.add_argument(
        "--lib-dir",
        help="Cassandra's jars, shared with the single node "
        "[$CASELEDGER_CASSANDRA_LIB_DIR or <home>/cassandra/lib]",
    )
    parser.add_argument(
        "--port", type=int, help=f"CQL port of each member [${PREFIX}PORT or 19042]"
    )
    parser.add_argument(
        "--storage-port",
        type=int,
        help=f"storage port of each member [${PREFIX}STORAGE_PORT or 17000]",
    )
    parser.add_argument("--heap", help=f"JVM heap of each member [${PREFIX}HEAP or 768m]")
    parser.add_argument(
        "--timeout", type=float, help=f"seconds to wait until ready [${PREFIX}TIMEOUT or 300]"
    )
    return parser
