"""docker/services.py starts, answers for and stops the real Kafka broker and Cassandra node.

Every instance here runs in a temporary run folder on free ports, so it never
touches the broker or node another test session started on the default
ports. The jars are shared with those (fetched once into .services/).
"""

from __future__ import annotations

import hashlib
import shutil
import socket
import subprocess
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "docker" / "services.py"
NOT_RUNNING = 3
POMS = {"kafka": "kafka-broker/pom.xml", "cassandra": "cassandra-node/pom.xml"}


def jars_fetched(service: str) -> bool:
    """Whether the service's jars are in place for `java` alone: the marker
    docker/jar_fetch.py leaves in the lib folder (the script's `classpath`
    says where it is) holds the hash of the pom they were fetched for."""
    shown = subprocess.run(
        [sys.executable, str(SCRIPT), "classpath", service],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    marker = Path(shown.stdout.strip().removesuffix("*")) / ".fetched"
    pom = hashlib.sha256((SCRIPT.parent / POMS[service]).read_bytes()).hexdigest()
    return marker.is_file() and marker.read_text().strip() == pom


def needs_jvm(service: str) -> pytest.MarkDecorator:
    """Run only where the server can run: java, and its jars fetched or mvn to fetch them."""
    runnable = shutil.which("java") is not None and (
        shutil.which("mvn") is not None or jars_fetched(service)
    )
    return pytest.mark.skipif(
        not runnable, reason=f"needs java, and the {service} jars fetched or mvn to fetch them"
    )


needs_kafka_jvm = needs_jvm("kafka")
needs_cassandra_jvm = needs_jvm("cassandra")


@dataclass(frozen=True)
class Instance:
    service: str
    options: tuple[str, ...]
    port: int

    def run(self, command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(SCRIPT), command, self.service, *self.options],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for held in sockets:
            held.bind(("127.0.0.1", 0))
        return [held.getsockname()[1] for held in sockets]
    finally:
        for held in sockets:
            held.close()


def kafka_instance(run_dir: Path) -> Instance:
    port, controller = free_ports(2)
    options = ("--run-dir", str(run_dir), "--port", str(port))
    return Instance("kafka", (*options, "--controller-port", str(controller)), port)


def cassandra_instance(run_dir: Path) -> Instance:
    port, storage = free_ports(2)
    options = ("--run-dir", str(run_dir), "--port", str(port), "--heap", "768m")
    return Instance("cassandra", (*options, "--storage-port", str(storage)), port)


def started(instance: Instance) -> Iterator[Instance]:
    result = instance.run("start")
    assert result.returncode == 0, result.stdout + result.stderr
    yield instance
    instance.run("stop")


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instance]:
    yield from started(kafka_instance(tmp_path_factory.mktemp("kafka")))


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instance]:
    yield from started(cassandra_instance(tmp_path_factory.mktemp("cassandra")))


def test_status_of_a_service_never_started_exits_not_running(tmp_path: Path) -> None:
    result = kafka_instance(tmp_path).run("status")

    assert result.returncode == NOT_RUNNING
    assert "not running" in result.stdout


def test_stop_without_a_running_service_is_a_no_op(tmp_path: Path) -> None:
    result = cassandra_instance(tmp_path).run("stop")

    assert result.returncode == 0
    assert "nothing to stop" in result.stdout


@needs_kafka_jvm
def test_start_on_a_taken_port_fails_naming_the_port(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        instance = Instance("kafka", ("--run-dir", str(tmp_path), "--port", str(port)), port)

        result = instance.run("start")

    assert result.returncode == 1
    assert f"port(s) {port}" in result.stderr


@needs_kafka_jvm
@pytest.mark.kafka
def test_started_broker_carries_a_message_from_producer_to_consumer(broker: Instance) -> None:
    from kafka import KafkaConsumer, KafkaProducer
    from kafka.admin import KafkaAdminClient, NewTopic

    bootstrap = f"127.0.0.1:{broker.port}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic("smoke", num_partitions=1, replication_factor=1)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    producer.send("smoke", b"hello").get(timeout=30)
    producer.close()
    consumer = KafkaConsumer(
        "smoke",
        bootstrap_servers=bootstrap,
        group_id="smoke",
        auto_offset_reset="earliest",
        consumer_timeout_ms=30_000,
    )

    received = next(iter(consumer)).value
    consumer.close()

    assert received == b"hello"


@needs_kafka_jvm
@pytest.mark.kafka
def test_second_start_of_a_running_broker_is_a_no_op(broker: Instance) -> None:
    before = broker.run("status").stdout

    result = broker.run("start")

    assert result.returncode == 0
    assert "already running" in result.stdout
    assert broker.run("status").stdout == before


@needs_kafka_jvm
@pytest.mark.kafka
def test_stop_ends_the_broker_it_started(tmp_path: Path) -> None:
    instance = kafka_instance(tmp_path)
    assert instance.run("start").returncode == 0
    pid = int((tmp_path / "kafka.pid").read_text().split()[0])

    result = instance.run("stop")

    assert result.returncode == 0
    assert f"stopped pid {pid}" in result.stdout
    assert not _alive(pid)
    assert instance.run("status").returncode == NOT_RUNNING


@needs_cassandra_jvm
@pytest.mark.cassandra
def test_started_node_answers_cql_writes_and_reads(node: Instance) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from cassandra.cluster import Cluster
        from cassandra.policies import DCAwareRoundRobinPolicy

    cluster = Cluster(
        ["127.0.0.1"],
        port=node.port,
        load_balancing_policy=DCAwareRoundRobinPolicy(local_dc="datacenter1"),
        protocol_version=5,
    )
    session = cluster.connect()
    session.execute(
        "CREATE KEYSPACE smoke WITH replication = {'class': 'SimpleStrategy', "
        "'replication_factor': 1}"
    )
    session.execute("CREATE TABLE smoke.kv (k text PRIMARY KEY, v int)")
    session.execute("INSERT INTO smoke.kv (k, v) VALUES (%s, %s)", ("a", 1))

    rows = list(session.execute("SELECT k, v FROM smoke.kv"))
    cluster.shutdown()

    assert [(row.k, row.v) for row in rows] == [("a", 1)]


@needs_cassandra_jvm
@pytest.mark.cassandra
def test_second_start_of_a_running_node_is_a_no_op(node: Instance) -> None:
    result = node.run("start")

    assert result.returncode == 0
    assert "already running" in result.stdout


@needs_cassandra_jvm
@pytest.mark.cassandra
def test_stop_ends_the_node_it_started(tmp_path: Path) -> None:
    instance = cassandra_instance(tmp_path)
    assert instance.run("start").returncode == 0
    pid = int((tmp_path / "cassandra.pid").read_text().split()[0])

    result = instance.run("stop")

    assert result.returncode == 0
    assert not _alive(pid)
    assert instance.run("status").returncode == NOT_RUNNING


def _alive(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    if not stat.exists():
        return False
    # An exited child not yet reaped by its new parent shows as a zombie.
    return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
