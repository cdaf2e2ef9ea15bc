"""A witness's own checkpoints pin what it witnessed: the city's checkpoint
names the latest witnessed checkpoint of the county and of the township, and
the county's checkpoint (as the city witnessed it) names the township's."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest

from caseledger.ledger.audit.checkpoint import Checkpoint, origin_of
from caseledger.nodes.replication.grpc_feed import Source
from caseledger.nodes.service.server import RunningNode, start
from caseledger.v1 import audit_pb2, audit_pb2_grpc
from tests.nodes.replication.feeds import CITY, COUNTY, TOWNSHIP, drive_cases, wait_for
from tests.nodes.stores import fresh_nodes, node_config
from tests.nodes.witness.harness import stopped, witnessed, witnessed_up_to_head, witnessing
from tests.pki import client_channel


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[dict[str, RunningNode]]:
    """Township -> county -> city over log streams; the city also pulls the
    township directly, as a node pulls its whole subtree."""
    fresh_nodes("sqlite", TOWNSHIP, COUNTY, CITY)
    nodes: dict[str, RunningNode] = {}

    def run(code: str, sources: list[Source]) -> RunningNode:
        config = node_config(code, tmp_path / code, "sqlite", allow_client_time=True)
        nodes[code] = witnessing(start(config, sources))
        return nodes[code]

    try:
        township = run(TOWNSHIP, [])
        county = run(COUNTY, [Source(TOWNSHIP, township.address)])
        run(CITY, [Source(COUNTY, county.address), Source(TOWNSHIP, township.address)])
        yield nodes
    finally:
        for node in reversed(nodes.values()):
            stopped(node)


def pin(record: audit_pb2.WitnessedCheckpoint) -> str:
    root = base64.b64encode(record.root_hash).decode()
    return f"witnessed {origin_of(record.node)} {record.size} {root}"


def own_checkpoint(node: RunningNode) -> Checkpoint:
    with client_channel(node.address) as channel:
        reply = audit_pb2_grpc.AuditServiceStub(channel).GetCheckpoint(
            audit_pb2.GetCheckpointRequest(fresh=True), timeout=10
        )
    return Checkpoint.parse(reply.note.partition("\n\n")[0] + "\n")


def test_the_top_checkpoint_pins_every_witnessed_checkpoint_below_it(
    chain: dict[str, RunningNode],
) -> None:
    township, county, city = chain[TOWNSHIP], chain[COUNTY], chain[CITY]
    drive_cases(township, 1)
    wait_for(lambda: witnessed_up_to_head(county, township), "the county to witness")
    wait_for(lambda: witnessed_up_to_head(city, township), "the city to witness the township")
    drive_cases(county, 1)
    wait_for(lambda: witnessed_up_to_head(city, county), "the city to witness the county")

    by_county = {r.node: r for r in witnessed(county)}
    by_city = {r.node: r for r in witnessed(city)}
    assert set(by_city) == {COUNTY, TOWNSHIP}

    # The county's checkpoint, as the city cosigned it, pins the township's.
    county_note = by_city[COUNTY].note
    county_checkpoint = Checkpoint.parse(county_note.partition("\n\n")[0] + "\n")
    assert county_checkpoint.extensions == (pin(by_county[TOWNSHIP]),)

    # The city's own checkpoint pins both: one note for the whole subtree.
    assert own_checkpoint(city).extensions == (pin(by_city[COUNTY]), pin(by_city[TOWNSHIP]))
