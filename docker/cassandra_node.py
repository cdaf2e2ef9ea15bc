"""One Apache Cassandra 5.0 node started from its jars on Java 17.

Alone (the single node of `services.py`) or as a member of the three-node
cluster (`cassandra_cluster.py`): the member listens on its own loopback
address and names the cluster's seed.
"""

from __future__ import annotations

import shlex
import warnings
from dataclasses import dataclass
from pathlib import Path
from string import Template

from jar_fetch import JarSet, jar_named
from jvm_process import ServerProcess, port_answers

TEMPLATES = Path(__file__).resolve().parent / "cassandra-node"
LOCAL_DATA_CENTRE = "datacenter1"


@dataclass(frozen=True)
class CassandraSettings:
    """Where one node lives and which ports it takes."""

    lib_dir: Path
    run_dir: Path
    port: int = 9042
    storage_port: int = 7000
    heap: str = "1g"
    address: str = "127.0.0.1"
    # `host:port,...` of the seeds; None: the node is its own seed (alone).
    seeds: str | None = None
    # A node of a fresh cluster has nothing to stream: it joins without bootstrap.
    auto_bootstrap: bool = True
    # Skip syncing the system tables: fine for one throwaway test node, but a
    # cluster member killed -9 then comes back without the schema changes it
    # had acknowledged ("keyspace ... does not exist" until it pulls them again).
    unsafe_system: bool = True
    # Extra `-D` system properties (a cluster member's start-up timings).
    properties: tuple[str, ...] = ()

    @property
    def conf_dir(self) -> Path:
        return self.run_dir / "conf"

    @property
    def config(self) -> Path:
        return self.conf_dir / "cassandra.yaml"

    @property
    def data_dir(self) -> Path:
        return self.run_dir / "data"

    @property
    def logs_dir(self) -> Path:
        return self.run_dir / "logs"


def jar_set(lib_dir: Path) -> JarSet:
    return JarSet(
        name="cassandra",
        pom=TEMPLATES / "pom.xml",
        lib_dir=lib_dir,
        required_prefixes=("cassandra-all-", "jamm-", "logback-classic-", "netty-all-"),
    )


def server_process(settings: CassandraSettings) -> ServerProcess:
    return ServerProcess(
        name="cassandra",
        pid_file=settings.run_dir / "cassandra.pid",
        marker=str(settings.config),
        console_log=settings.logs_dir / "console.log",
        service_log=settings.logs_dir / "system.log",
    )


def busy_ports(settings: CassandraSettings) -> list[int]:
    ports = (settings.port, settings.storage_port)
    return [p for p in ports if port_answers(p, settings.address)]


def prepare(settings: CassandraSettings) -> None:
    """Write cassandra.yaml; Cassandra makes its data folders itself."""
    settings.conf_dir.mkdir(parents=True, exist_ok=True)
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    template = Template((TEMPLATES / "cassandra.yaml.template").read_text())
    settings.config.write_text(
        template.substitute(
            native_port=settings.port,
            storage_port=settings.storage_port,
            data_dir=settings.data_dir,
            address=settings.address,
            seeds=settings.seeds or f"{settings.address}:{settings.storage_port}",
            auto_bootstrap="true" if settings.auto_bootstrap else "false",
        )
    )


def module_flags() -> list[str]:
    """The Java 17 flags kept in docker/cassandra-node/jvm17-server.options."""
    flags: list[str] = []
    for raw in (TEMPLATES / "jvm17-server.options").read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            flags.extend(shlex.split(line))
    return flags


def start_command(settings: CassandraSettings) -> list[str]:
    jamm = jar_named(settings.lib_dir, "jamm-")
    return [
        "java",
        f"-Xms{settings.heap}",
        f"-Xmx{settings.heap}",
        "-XX:+UseG1GC",
        "-XX:+ParallelRefProcEnabled",
        "-XX:MaxGCPauseMillis=300",
        "-Xss256k",
        # Fail loudly instead of limping on after an OutOfMemoryError.
        "-XX:+ExitOnOutOfMemoryError",
        "-Djava.net.preferIPv4Stack=true",
        *module_flags(),
        f"-javaagent:{jamm}",
        "-Dcassandra-foreground=yes",
        f"-Dcassandra.config=file://{settings.config}",
        f"-Dcassandra.storagedir={settings.data_dir}",
        f"-Dcassandra.logdir={settings.logs_dir}",
        f"-Dlogback.configurationFile={TEMPLATES / 'logback.xml'}",
        # One node has no peers to wait for, and a test node needs no fsync
        # of the system tables.
        "-Dcassandra.skip_wait_for_gossip_to_settle=0",
        *(["-Dcassandra.unsafesystem=true"] if settings.unsafe_system else []),
        *settings.properties,
        "-cp",
        f"{settings.conf_dir}:{settings.lib_dir}/*",
        "org.apache.cassandra.service.CassandraDaemon",
    ]


def is_ready(settings: CassandraSettings) -> bool:
    """`SELECT release_version FROM system.local` answers over CQL."""
    if not port_answers(settings.port, settings.address):
        return False
    try:
        with warnings.catch_warnings():
            # The driver falls back to asyncore on 3.11 and says so.
            warnings.simplefilter("ignore")
            from cassandra.cluster import Cluster
            from cassandra.policies import (
                DCAwareRoundRobinPolicy,
            )
    except ImportError:
        log = settings.logs_dir / "system.log"
        return log.exists() and "Starting listening for CQL clients" in log.read_text(
            errors="replace"
        )
    cluster = Cluster(
        contact_points=[settings.address],
        port=settings.port,
        load_balancing_policy=DCAwareRoundRobinPolicy(local_dc=LOCAL_DATA_CENTRE),
        protocol_version=5,
        connect_timeout=3,
    )
    try:
        session = cluster.connect()
        row = session.execute("SELECT release_version FROM system.local").one()
        return row is not None
    except Exception:  # any failure only means "not yet"
        return False
    finally:
        cluster.shutdown()
