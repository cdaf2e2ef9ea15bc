"""What a node needs from its network: whom to pull from, and where everyone is.

A node pulls the whole log of every listed node in its subtree (so the
province sees every township directly, with no relay) and only the reference
data (catalogue items) of its ancestors, which flows down.
"""

from __future__ import annotations

from caseledger.ledger.catalogue import REFERENCE_DATA_TOPICS
from caseledger.nodes.network.model import Network
from caseledger.nodes.replication.grpc_feed import Source


def sources_of(network: Network, code: str) -> list[Source]:
    subtree = [Source(n.code, str(n.address)) for n in network.subtree_of(code)]
    reference = [
        Source(n.code, str(n.address), REFERENCE_DATA_TOPICS) for n in network.ancestors_of(code)
    ]
    return subtree + reference


def directory_of(network: Network) -> dict[str, str]:
    """Every node's division code to its gRPC address."""
    return {n.code: str(n.address) for n in network.nodes}
