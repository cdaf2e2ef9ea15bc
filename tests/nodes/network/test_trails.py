"""Across the whole demo network: who ends up holding a case's trail.

Every node that owned a case, and every ancestor of such a node, must end up
with the complete, verified trail — including after a transfer across
subtrees (跨域), where neither side's ancestors replicate the other side.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import yaml

from caseledger.cli.audit.trail import verify_trail
from caseledger.ledger.errors import ItemNotFound
from caseledger.nodes.network.file import parse_network
from caseledger.nodes.network.model import Network
from caseledger.nodes.network.wiring import directory_of, sources_of
from caseledger.nodes.service.server import RunningNode, start
from caseledger.v1 import ledger_pb2, ledger_pb2_grpc, types_pb2
from tests.nodes import requests as rq
from tests.nodes.processes import free_ports
from tests.pki import client_channel, secured
from tests.samples import FOOD_LICENCE
from tests.timing import wait_for

PROVINCE, JINAN, LIXIA, JIEFANGLU, PINGYIN, DONGE = (
    "370000000000", "370100000000", "370102000000", "370102001000", "370124000000",
    "370124102000",
)  # fmt: skip


def demo_on_free_ports(folder: Path) -> Network:
    codes = [PROVINCE, JINAN, LIXIA, JIEFANGLU, PINGYIN, DONGE]
    ports = free_ports(len(codes))
    document = {
        "network": "trail-test",
        "defaults": {"data_dir": str(folder), "store": "sqlite", "feed": "grpc"},
        "nodes": [
            {"code": code, "name": code, "address": f"127.0.0.1:{port}"}
            for code, port in zip(codes, ports, strict=True)
        ],
    }
    return parse_network(yaml.safe_dump(document))


@pytest.fixture
def network(tmp_path: Path) -> Iterator[dict[str, RunningNode]]:
    plan = demo_on_free_ports(tmp_path)
    directory = directory_of(plan)
    nodes = {}
    for spec in plan.nodes:
        config = secured(plan.to_node_config(spec.code))
        config = type(config)(**{**config.__dict__, "allow_client_time": True})
        nodes[spec.code] = start(config, sources_of(plan, spec.code), directory)
    yield nodes
    for node in nodes.values():
        node.stop(grace=0)


def stub(node: RunningNode) -> ledger_pb2_grpc.LedgerServiceStub:
    return ledger_pb2_grpc.LedgerServiceStub(client_channel(node.address))


def whole_trail(node: RunningNode, number: str, versions: int) -> bool:
    """The node holds versions 1..n of the case, and they verify as a client checks them."""
    try:
        trail = stub(node).ListCaseEvents(ledger_pb2.ListCaseEventsRequest(case=number))
    except grpc.RpcError as error:
        if error.code() is grpc.StatusCode.NOT_FOUND:
            return False  # not here yet
        raise
    report = verify_trail(trail, number)
    assert report.verified, (node.config.code, report.first_break)
    return len(trail.events) == versions


def test_a_case_moved_across_subtrees_reaches_every_owner_and_ancestor(
    network: dict[str, RunningNode],
) -> None:
    stub(network[PROVINCE]).PublishItem(
        ledger_pb2.PublishItemRequest(terms=rq.item_terms(), meta=rq.publisher())
    )

    wait_for(
        lambda: all(_has_item(node) for node in network.values()),
        "the province's catalogue to reach every node",
    )
    township = stub(network[JIEFANGLU])
    number = township.Submit(rq.submit()).result.case_number
    township.Accept(ledger_pb2.AcceptRequest(meta=rq.meta(), case=number, notice_no="受1号"))
    reply = township.Transfer(
        ledger_pb2.TransferRequest(meta=rq.meta(), case=number, target=DONGE, reason="跨域通办")
    )
    assert (reply.outcome, reply.owner) == (types_pb2.TRANSFER_OUTCOME_ACCEPTED, DONGE)
    stub(network[DONGE]).RecordStep(
        ledger_pb2.RecordStepRequest(
            meta=rq.meta(), case=number, step="审批", handler="东阿镇", opinion="同意",
            action=types_pb2.STEP_ACTION_PASS,
        )
    )  # fmt: skip
    # Owners: Jiefanglu then Dong'e; their ancestors: Lixia, Pingyin, Jinan, the province.
    for code in (JIEFANGLU, DONGE, LIXIA, PINGYIN, JINAN, PROVINCE):
        wait_for(
            lambda code=code: whole_trail(network[code], number, versions=5),  # type: ignore[misc]
            f"{code} to hold the whole trail",
        )


def _has_item(node: RunningNode) -> bool:
    try:
        node.ledger.item(FOOD_LICENCE)
    except ItemNotFound:
        return False  # not replicated here yet
    return True
