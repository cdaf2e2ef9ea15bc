"""Finding 11: an offer of a case made the target dial the `from_address` the
caller supplied. The target now pulls the trail only from the address its
network file gives the offering node, and refuses an offer from a node that
is not in it.

A listening socket stands in for an address a caller would have the node
dial: it must see no connection.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from caseledger.nodes.config import NodeConfig
from caseledger.nodes.service.server import RunningNode, start
from caseledger.v1 import handoff_pb2, handoff_pb2_grpc, ledger_pb2, ledger_pb2_grpc, types_pb2
from tests.nodes import requests as rq
from tests.pki import client_channel, node_channel, secured

TOWNSHIP = "370102001000"
COUNTY = "370102000000"
STRANGER = "370124000000"  # a node the network file does not list


@dataclass
class Pair:
    township: RunningNode
    county: RunningNode

    def ledger(self, node: RunningNode) -> ledger_pb2_grpc.LedgerServiceStub:
        return ledger_pb2_grpc.LedgerServiceStub(client_channel(node.address))

    def handoff(
        self, node: RunningNode, caller: str = TOWNSHIP
    ) -> handoff_pb2_grpc.HandoffServiceStub:
        """The handoff service of `node`, called by node `caller` (by its certificate)."""
        return handoff_pb2_grpc.HandoffServiceStub(node_channel(node.address, caller))


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    directory: dict[str, str] = {}
    nodes = []
    for code in (TOWNSHIP, COUNTY):
        config = secured(NodeConfig(code=code, data_dir=tmp_path / code, allow_client_time=True))
        node = start(config, (), directory)
        directory[code] = node.address  # the directory is shared and filled as nodes bind
        nodes.append(node)
    yield Pair(*nodes)
    for node in nodes:
        node.stop(grace=0)


@pytest.fixture
def spy() -> Iterator[socket.socket]:
    """A listening socket no node should ever connect to."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.5)
    yield listener
    listener.close()


def address(listener: socket.socket) -> str:
    host, port = listener.getsockname()
    return f"{host}:{port}"


def dialled(listener: socket.socket) -> bool:
    try:
        connection, _ = listener.accept()
    except TimeoutError:
        return False
    connection.close()
    return True


def transferred_case(pair: Pair) -> ledger_pb2.TransferResponse:
    township, county = pair.ledger(pair.township), pair.ledger(pair.county)
    township.PublishItem(rq.publish_item())
    county.PublishItem(rq.publish_item())
    number = rq.prepared(township, rq.Stage.ACCEPTED)
    request = ledger_pb2.TransferRequest(meta=rq.meta(), case=number, target=COUNTY, reason="转报")
    return township.Transfer(request, timeout=30)


def test_finding_11_an_offer_is_pulled_from_the_network_file_not_from_its_address(
    pair: Pair, spy: socket.socket
) -> None:
    handed = transferred_case(pair)
    assert handed.outcome == types_pb2.TRANSFER_OUTCOME_ACCEPTED
    offer = handoff_pb2.OfferCaseRequest(
        case_id=handed.result.case_id, from_node=TOWNSHIP, from_address=address(spy)
    )

    answer = pair.handoff(pair.county).OfferCase(offer, timeout=10)

    assert (answer.outcome, answer.owner) == (types_pb2.TRANSFER_OUTCOME_ACCEPTED, COUNTY)
    assert not dialled(spy)


def test_finding_11_an_offer_of_an_unknown_case_dials_no_address_it_names(
    pair: Pair, spy: socket.socket
) -> None:
    """The township is asked for the trail at its own address (it has none)."""
    offer = handoff_pb2.OfferCaseRequest(
        case_id=str(uuid.uuid4()), from_node=TOWNSHIP, from_address=address(spy)
    )

    with pytest.raises(grpc.RpcError) as caught:
        pair.handoff(pair.county).OfferCase(offer, timeout=10)

    assert caught.value.code() is grpc.StatusCode.UNAVAILABLE  # the owner has no such case
    assert not dialled(spy)


def test_finding_11_an_offer_from_a_node_not_in_the_network_file_is_refused(
    pair: Pair, spy: socket.socket
) -> None:
    written = pair.county.ledger.recorder.max_notification_id()
    offer = handoff_pb2.OfferCaseRequest(
        case_id=str(uuid.uuid4()), from_node=STRANGER, from_address=address(spy)
    )

    with pytest.raises(grpc.RpcError) as caught:
        pair.handoff(pair.county, STRANGER).OfferCase(offer, timeout=10)

    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(caught.value)  # type: ignore[arg-type]
    assert status is not None
    bad = error_details_pb2.BadRequest()
    assert any(detail.Unpack(bad) for detail in status.details if detail.Is(bad.DESCRIPTOR))
    assert [v.field for v in bad.field_violations] == ["from_node"]
    assert "in the network" in bad.field_violations[0].description
    assert not dialled(spy)
    assert pair.county.ledger.recorder.max_notification_id() == written
