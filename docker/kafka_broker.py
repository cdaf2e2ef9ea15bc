"""An Apache Kafka 4.x broker (KRaft, broker and controller in one JVM).

Alone by default (one voter, replication factor 1); a member of the
three-broker cluster (`kafka_cluster`) when its settings name its host,
node id, voters and the cluster template.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from pathlib import Path
from string import Template

from jar_fetch import JarSet
from jvm_process import ServerProcess, port_answers, run_to_end

TEMPLATES = Path(__file__).resolve().parent / "kafka-broker"
STARTED_LINE = "Kafka Server started"


@dataclass(frozen=True)
class KafkaSettings:
    """Where one broker lives and which ports it takes."""

    lib_dir: Path
    run_dir: Path
    port: int = 9092
    controller_port: int = 9093
    heap: str = "512m"
    host: str = "127.0.0.1"
    node_id: int = 1
    # `id@host:port,...`; empty: this broker is the only voter.
    voters: str = ""
    template: str = "server.properties.template"
    # Members of one cluster share one id, kept beside them; None: in run_dir.
    cluster_id_file: Path | None = None

    @property
    def quorum_voters(self) -> str:
        return self.voters or f"{self.node_id}@{self.host}:{self.controller_port}"

    @property
    def config(self) -> Path:
        return self.run_dir / "conf" / "server.properties"

    @property
    def data_dir(self) -> Path:
        return self.run_dir / "data"

    @property
    def logs_dir(self) -> Path:
        return self.run_dir / "logs"

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"


def jar_set(lib_dir: Path) -> JarSet:
    return JarSet(
        name="kafka",
        pom=TEMPLATES / "pom.xml",
        lib_dir=lib_dir,
        required_prefixes=("kafka_2.13-", "kafka-tools-", "log4j-slf4j-impl-"),
    )


def server_process(settings: KafkaSettings) -> ServerProcess:
    return ServerProcess(
        name="kafka",
        pid_file=settings.run_dir / "kafka.pid",
        marker=str(settings.config),
        console_log=settings.logs_dir / "console.log",
        service_log=settings.logs_dir / "server.log",
    )


def busy_ports(settings: KafkaSettings) -> list[int]:
    return [p for p in (settings.port, settings.controller_port) if port_answers(p, settings.host)]


def prepare(settings: KafkaSettings) -> None:
    """Write server.properties and format the storage once."""
    settings.config.parent.mkdir(parents=True, exist_ok=True)
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    template = Template((TEMPLATES / settings.template).read_text())
    settings.config.write_text(
        template.substitute(
            port=settings.port,
            controller_port=settings.controller_port,
            data_dir=settings.data_dir,
            host=settings.host,
            node_id=settings.node_id,
            voters=settings.quorum_voters,
        )
    )
    if (settings.data_dir / "meta.properties").exists():
        return
    # -g leaves an already formatted directory alone instead of failing.
    run_to_end(
        [
            *java_prefix(settings, heap="128m"),
            "kafka.tools.StorageTool",
            "format",
            "-t",
            cluster_id(settings.cluster_id_file or settings.run_dir / "cluster-id"),
            "-c",
            str(settings.config),
            "-g",
        ],
        cwd=settings.run_dir,
        what="formatting kafka storage",
    )


def start_command(settings: KafkaSettings) -> list[str]:
    return [*java_prefix(settings, heap=settings.heap), "kafka.Kafka", str(settings.config)]


def java_prefix(settings: KafkaSettings, heap: str) -> list[str]:
    """`java` with heap, logging and classpath; the main class comes next."""
    return [
        "java",
        f"-Xms{heap}",
        f"-Xmx{heap}",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-Djava.awt.headless=true",
        f"-Dkafka.logs.dir={settings.logs_dir}",
        f"-Dlog4j2.configurationFile={TEMPLATES / 'log4j2.properties'}",
        "-cp",
        f"{settings.lib_dir}/*",
    ]


def cluster_id(kept: Path) -> str:
    """The cluster id, made once and kept in the file `kept`.

    16 random bytes in URL-safe base64 without padding; Kafka's tools
    reject an id that starts with '-', so draw again in that case.
    """
    if kept.exists():
        return kept.read_text().strip()
    while True:
        raw = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")
        if not raw.startswith("-"):
            break
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.write_text(raw + "\n")
    return raw


def is_ready(settings: KafkaSettings) -> bool:
    """A metadata request answers (or, without kafka-python, the log says started)."""
    if not port_answers(settings.port, settings.host):
        return False
    try:
        from kafka import KafkaAdminClient
    except ImportError:
        log = settings.logs_dir / "server.log"
        return log.exists() and STARTED_LINE in log.read_text(errors="replace")
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=settings.bootstrap,
            client_id="caseledger-services-ready",
            request_timeout_ms=3000,
        )
    except Exception:  # any failure only means "not yet"
        return False
    try:
        admin.describe_cluster()
        return True
    except Exception:
        return False
    finally:
        admin.close()
