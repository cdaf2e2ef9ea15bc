"""The node image's health check: does the node answer its gRPC health service?

    node-health.py NETWORK_FILE CODE

Asks the node at its listed address, over mutual TLS with the node's own
certificate from its data folder (every node's certificate is a client the
network accepts), for the overall status (service ""). Exit 0 when it is
SERVING, 1 otherwise, with the reason on standard error, as Docker's
HEALTHCHECK and compose's `healthcheck` read it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from caseledger.nodes.network.file import NetworkFileError, load_network
from caseledger.nodes.trust.errors import TrustError
from caseledger.nodes.trust.transport import INSECURE, Transport, node_key_pair

_TIMEOUT_SECONDS = 3.0


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: node-health.py NETWORK_FILE CODE", file=sys.stderr)
        return 2
    try:
        network = load_network(Path(argv[0]))
        node = network.node(argv[1])
        transport = (
            INSECURE if network.insecure else Transport(node_key_pair(node.data_dir, node.code))
        )
    except (NetworkFileError, TrustError, KeyError, ValueError) as error:
        print(f"node-health: {error}", file=sys.stderr)
        return 1
    with transport.channel(str(node.address), node.code) as channel:
        try:
            answer = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=_TIMEOUT_SECONDS
            )
        except grpc.RpcError as error:
            reason = error.code().name
            print(f"node-health: {node.code} at {node.address}: {reason}", file=sys.stderr)
            return 1
    if answer.status != health_pb2.HealthCheckResponse.SERVING:
        status = health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)
        print(f"node-health: {node.code} at {node.address}: {status}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
