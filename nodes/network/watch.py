"""Health at a glance (网络健康): what `network up` tells the operator while it runs.

Each node logs its own troubles to its own log file, where nobody watching
the console sees them. So the supervisor looks, every few seconds, from the
outside, and prints on its console each problem when it appears and again
when it clears:

- a Kafka broker of the network's feed that does not accept connections;
- a Cassandra store none of whose contact points accepts connections;
- a node that does not answer its gRPC health service (over mutual TLS, with
  the operator's client certificate), or whose health says a part of it is
  NOT_SERVING: a case in quarantine (`caseledger.quarantine`) or a failing
  background worker (`caseledger.worker.<name>`, `caseledger.nodes.workers`);
- with metrics ports (`--metrics-base-port`), a source a node's feed cannot
  reach: its replication lag is unknown (NaN) there.

Only transitions are printed, so a broker down for an hour is one line, and
one more when it is back.
"""

from __future__ import annotations

import math
import socket
import threading
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

from caseledger.nodes.network.model import Address, Network, NodeSpec
from caseledger.nodes.network.wiring import sources_of
from caseledger.nodes.trust.transport import Transport
from caseledger.nodes.workers import (
    CHECKPOINTS,
    COURIER,
    HANDOFFS,
    KAFKA_FEED,
    PUBLISHER,
    feed_worker,
    health_service,
)

CHECK_EVERY = 3.0
"""Seconds between two looks at the network."""
_CONNECT_TIMEOUT = 1.0
_QUARANTINE = "caseledger.quarantine"
# A Kafka node's publisher: NOT_SERVING while its events cannot reach the brokers.
_PUBLISHING = "caseledger.publishing"
_LAG = "caseledger_replication_lag_events"


@dataclass(frozen=True)
class WatchedNode:
    """A running node: where it listens, and its metrics port if it serves one."""

    spec: NodeSpec
    address: str
    metrics_port: int | None = None


def accepts_connections(address: Address, timeout: float = _CONNECT_TIMEOUT) -> bool:
    try:
        with socket.create_connection((address.host, address.port), timeout=timeout):
            return True
    except OSError:
        return False


def unknown_lags(metrics_text: str) -> list[str]:
    """The sources whose replication lag a node's metrics give as unknown (NaN)."""
    found = []
    for family in text_string_to_metric_families(metrics_text):
        if family.name != _LAG:
            continue
        for sample in family.samples:
            if math.isnan(sample.value):
                found.append(sample.labels.get("source", "?"))
    return sorted(found)


class HealthWatch:
    """Looks at a running network's brokers, stores, nodes and sources; says what changed."""

    def __init__(
        self,
        network: Network,
        nodes: Sequence[WatchedNode],
        transport: Transport,
        say: Callable[[str], None],
    ) -> None:
        self._network = network
        self._nodes = tuple(nodes)
        self._transport = transport
        self._say = say
        self._seen: dict[str, str] = {}

    def problems(self) -> dict[str, str]:
        """What is wrong now, each under a key that stays the same while it lasts."""
        found: dict[str, str] = {}
        found.update(self._brokers())
        found.update(self._stores())
        for node in self._nodes:
            found.update(self._health(node))
            found.update(self._sources(node))
        return found

    def report(self) -> dict[str, str]:
        """Say each problem that appeared and each that cleared since the last look."""
        now = self.problems()
        for key, text in now.items():
            if key not in self._seen:
                self._say(f"UNHEALTHY {text}")
        for key, text in self._seen.items():
            if key not in now:
                self._say(f"HEALTHY again, was: {text}")
        self._seen = now
        return now

    def run(self, stopping: threading.Event, every: float = CHECK_EVERY) -> None:
        while not stopping.wait(every):
            self.report()

    def _brokers(self) -> Iterator[tuple[str, str]]:
        kafka = self._network.kafka
        users = [n.code for n in self._network.nodes if n.feed == "kafka"]
        if kafka is None or not users:
            return
        for broker in kafka.bootstrap:
            if not accepts_connections(broker):
                yield (
                    f"broker {broker}",
                    f"kafka broker {broker} unreachable (the feed of {len(users)} node(s))",
                )

    def _stores(self) -> Iterator[tuple[str, str]]:
        for node in self._network.nodes:
            points = node.store.contact_points
            if node.store.kind != "cassandra" or not points:
                continue
            if not any(accepts_connections(point) for point in points):
                listed = ", ".join(str(p) for p in points)
                yield f"store {node.code}", f"node {node}: Cassandra store at {listed} unreachable"

    def _health(self, node: WatchedNode) -> Iterator[tuple[str, str]]:
        code = node.spec.code
        services = ["", _QUARANTINE, *(health_service(w) for w in self._workers(code))]
        if node.spec.feed == "kafka":
            services.append(_PUBLISHING)
        try:
            with self._transport.channel(node.address, code) as channel:
                check = health_pb2_grpc.HealthStub(channel).Check
                for service in services:
                    status = self._status(check, service)
                    if status is not None and status != health_pb2.HealthCheckResponse.SERVING:
                        name = health_pb2.HealthCheckResponse.ServingStatus.Name(status)
                        yield (
                            f"health {code} {service}",
                            f"node {node.spec}: {service or 'the node'} {name}",
                        )
        except grpc.RpcError as error:
            yield (
                f"health {code}",
                f"node {node.spec} at {node.address} not answering its health service "
                f"({error.code().name})",
            )

    @staticmethod
    def _status(check: Callable[..., health_pb2.HealthCheckResponse], service: str) -> int | None:
        """The service's status; None for one this node does not run."""
        try:
            status: int = check(
                health_pb2.HealthCheckRequest(service=service), timeout=_CONNECT_TIMEOUT
            ).status
        except grpc.RpcError as error:
            if error.code() is grpc.StatusCode.NOT_FOUND:
                return None
            raise
        return status

    def _workers(self, code: str) -> list[str]:
        if self._network.node(code).feed == "kafka":
            return [COURIER, HANDOFFS, CHECKPOINTS, PUBLISHER, KAFKA_FEED]
        feeds = [feed_worker(source.key) for source in sources_of(self._network, code)]
        return [COURIER, HANDOFFS, CHECKPOINTS, *feeds]

    def _sources(self, node: WatchedNode) -> Iterator[tuple[str, str]]:
        if node.metrics_port is None:
            return
        url = f"http://127.0.0.1:{node.metrics_port}/metrics"
        try:
            with urllib.request.urlopen(url, timeout=_CONNECT_TIMEOUT) as response:
                text = response.read().decode("utf-8")
        except OSError:
            yield f"metrics {node.spec.code}", f"node {node.spec}: no metrics at {url}"
            return
        for source in unknown_lags(text):
            yield (
                f"source {node.spec.code} {source}",
                f"node {node.spec}: source {source} unreachable (replication lag unknown)",
            )
