"""The health watch reads a node's health services: a failing background worker is
reported with the node and the worker, and again when it is back."""

from __future__ import annotations

from pathlib import Path

from grpc_health.v1 import health_pb2

from caseledger.nodes.config import NodeConfig
from caseledger.nodes.network.file import parse_network
from caseledger.nodes.network.watch import HealthWatch, WatchedNode
from caseledger.nodes.service.server import start
from caseledger.nodes.workers import COURIER, health_service
from tests.nodes.processes import free_ports
from tests.pki import secured, shared_pki

_CITY = "370100000000"


def test_a_failing_worker_is_reported_once_and_its_recovery_too(tmp_path: Path) -> None:
    node = start(secured(NodeConfig(code=_CITY, data_dir=tmp_path)))
    try:
        network = parse_network(
            f'network: watch\nnodes:\n  - code: "{_CITY}"\n    name: 济南市\n'
            f"    address: {node.address}\n"
        )
        said: list[str] = []
        watch = HealthWatch(
            network,
            [WatchedNode(network.nodes[0], node.address)],
            shared_pki().client(),
            said.append,
        )
        watch.report()
        assert said == []
        service = health_service(COURIER)
        node.health.set(service, health_pb2.HealthCheckResponse.NOT_SERVING)
        watch.report()
        watch.report()  # still failing: not said again
        node.health.set(service, health_pb2.HealthCheckResponse.SERVING)
        watch.report()
    finally:
        node.stop()
    assert said == [
        f"UNHEALTHY node {_CITY} 济南市: {service} NOT_SERVING",
        f"HEALTHY again, was: node {_CITY} 济南市: {service} NOT_SERVING",
    ]


def test_a_cassandra_store_none_of_whose_contact_points_answers_is_reported() -> None:
    (closed,) = free_ports(1)
    network = parse_network(
        f'network: watch\nnodes:\n  - code: "{_CITY}"\n    name: 济南市\n'
        "    address: 127.0.0.1:50400\n"
        f"    store: {{kind: cassandra, contact_points: [127.0.0.1:{closed}]}}\n"
    )
    said: list[str] = []
    HealthWatch(network, [], shared_pki().client(), said.append).report()
    assert said == [
        f"UNHEALTHY node {_CITY} 济南市: Cassandra store at 127.0.0.1:{closed} unreachable"
    ]
