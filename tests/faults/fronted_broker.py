"""A Kafka broker of a test's own that every client reaches through a proxy.

A Kafka client asks the bootstrap address for the cluster's metadata, then
dials the address the broker advertises, not the one it bootstrapped from.
The broker `docker/services.py` starts advertises its own listener, so a proxy
in front of it would be bypassed after the first request. This one listens
on a port of its own and advertises the proxy's, so each connection, the
first and every later one, runs through the proxy: taking the proxy down
takes the broker out of reach. Same jars and settings as the project's
broker (its template, with the advertised listener moved).
"""

from __future__ import annotations

import base64
import os
import secrets
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

from caseledger.nodes.replication.kafka_client import BrokerError, BrokerSettings
from caseledger.nodes.replication.kafka_feed import TopicLayout, create_network_topics
from tests.faults.toxiproxy import Proxy, Toxiproxy
from tests.nodes.processes import free_ports
from tests.timing import scaled, wait_for

DOCKER = Path(__file__).resolve().parents[2] / "docker"
TEMPLATES = DOCKER / "kafka-broker"
_HEAP = "256m"  # one test's few topics; the machine's two cores and memory are shared


@dataclass
class FrontedBroker:
    """A broker in `run_dir` on free ports, behind a proxy of `toxiproxy`."""

    run_dir: Path
    toxiproxy: Toxiproxy
    port: int = field(init=False)
    controller_port: int = field(init=False)
    proxy: Proxy = field(init=False)
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.port, self.controller_port = free_ports(2)
        self.proxy = self.toxiproxy.create(
            f"caseledger-broker-{secrets.token_hex(4)}", upstream=f"127.0.0.1:{self.port}"
        )

    @property
    def address(self) -> str:
        """Where clients bootstrap: the proxy."""
        return self.proxy.listen

    @property
    def log(self) -> Path:
        return self.run_dir / "logs" / "console.log"

    def start(self, codes: list[str], layout: TopicLayout) -> None:
        """Start, wait until it answers through the proxy, create the network's topics."""
        config = self._configure()
        java = self._java()
        if not (self.run_dir / "data" / "meta.properties").exists():
            formatted = subprocess.run(
                [*java, "kafka.tools.StorageTool", "format", "-t", _cluster_id(),
                 "-c", str(config), "-g"],
                capture_output=True, text=True, timeout=scaled(120), check=False,
            )  # fmt: skip
            assert formatted.returncode == 0, f"formatting the broker failed:\n{formatted.stderr}"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as console:
            self._process = subprocess.Popen(
                [*java, "kafka.Kafka", str(config)],
                stdout=console, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        broker = BrokerSettings((self.address,), request_timeout_ms=5_000)

        def topics_created() -> bool:
            assert self._process is not None
            assert self._process.poll() is None, self._tail()
            try:
                create_network_topics(broker, layout, codes)
            except BrokerError:
                return False
            return True

        wait_for(topics_created, "the fronted broker to answer through its proxy", timeout=180)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(timeout=scaled(60))
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait()
        self.proxy.delete()

    def _configure(self) -> Path:
        template = Template((TEMPLATES / "server.properties.template").read_text())
        text = template.substitute(
            port=self.port, controller_port=self.controller_port, data_dir=self.run_dir / "data"
        )
        advertised = f"advertised.listeners=PLAINTEXT://{self.proxy.listen}"
        lines = [
            advertised if line.startswith("advertised.listeners=") else line
            for line in text.splitlines()
        ]
        assert advertised in lines, "the broker template no longer sets advertised.listeners"
        config = self.run_dir / "conf" / "server.properties"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text("\n".join(lines) + "\n")
        return config

    def _java(self) -> list[str]:
        shown = subprocess.run(
            [sys.executable, str(DOCKER / "services.py"), "classpath", "kafka"],
            capture_output=True, text=True, timeout=scaled(60), check=True,
        )  # fmt: skip
        return [
            "java", f"-Xms{_HEAP}", f"-Xmx{_HEAP}", "-XX:+UseG1GC", "-Djava.awt.headless=true",
            f"-Dkafka.logs.dir={self.run_dir / 'logs'}",
            f"-Dlog4j2.configurationFile={TEMPLATES / 'log4j2.properties'}",
            "-cp", shown.stdout.strip(),
        ]  # fmt: skip

    def _tail(self) -> str:
        lines = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        return "the fronted broker exited:\n" + "\n".join(lines[-30:])


def _cluster_id() -> str:
    """16 random bytes, URL-safe base64 without padding; Kafka refuses a leading '-'."""
    while True:
        raw = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")
        if not raw.startswith("-"):
            return raw
