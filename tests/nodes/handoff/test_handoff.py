"""Handing a case between two real nodes over gRPC.

The township (解放路街道) reports a case up to the county (历下区) for a
decision; the county sends it back down for delivery. A node that does not
implement the item rejects, and ownership returns.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from caseledger.cli.audit.trail import verify_trail
from caseledger.nodes.config import NodeConfig
from caseledger.nodes.service.server import RunningNode, start
from caseledger.v1 import ledger_pb2, ledger_pb2_grpc, types_pb2
from tests.nodes import requests as rq
from tests.pki import client_channel, secured
from tests.timing import wait_for

TOWNSHIP = "370102001000"
COUNTY = "370102000000"
PINGYIN = "370124000000"


@dataclass
class Pair:
    township: RunningNode
    county: RunningNode
    pingyin: RunningNode
    directory: dict[str, str]
    folder: Path

    def stub(self, node: RunningNode) -> ledger_pb2_grpc.LedgerServiceStub:
        return ledger_pb2_grpc.LedgerServiceStub(client_channel(node.address))


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    directory: dict[str, str] = {}
    nodes = []
    for code in (TOWNSHIP, COUNTY, PINGYIN):
        node = start(
            secured(NodeConfig(code=code, data_dir=tmp_path / code, allow_client_time=True)),
            (),
            directory,
        )
        directory[code] = node.address  # the directory is shared and filled as nodes bind
        nodes.append(node)
    township, county, pingyin = nodes
    built = Pair(township, county, pingyin, directory=directory, folder=tmp_path)
    yield built
    for node in (built.township, built.county, built.pingyin):
        node.stop(grace=0)


def open_case(pair: Pair) -> str:
    township = pair.stub(pair.township)
    township.PublishItem(ledger_pb2.PublishItemRequest(terms=rq.item_terms(), meta=rq.publisher()))
    pair.stub(pair.county).PublishItem(
        ledger_pb2.PublishItemRequest(terms=rq.item_terms(), meta=rq.publisher())
    )
    number = township.Submit(rq.submit()).result.case_number
    township.Accept(ledger_pb2.AcceptRequest(meta=rq.meta(), case=number, notice_no="受1号"))
    return number


def transfer(
    pair: Pair, node: RunningNode, number: str, target: str
) -> ledger_pb2.TransferResponse:
    request = ledger_pb2.TransferRequest(meta=rq.meta(), case=number, target=target, reason="转报")
    return pair.stub(node).Transfer(request)


def events_of(node: RunningNode, number: str) -> list[ledger_pb2.CaseEvent]:
    """The node's trail of the case, verified as a client would (docs/canonical.md)."""
    stub = ledger_pb2_grpc.LedgerServiceStub(client_channel(node.address))
    trail = stub.ListCaseEvents(ledger_pb2.ListCaseEventsRequest(case=number))
    report = verify_trail(trail, number)
    assert report.verified, report.first_break
    return list(trail.events)


def chain_of(node: RunningNode, number: str) -> list[str]:
    return [event.hash for event in events_of(node, number)]


def test_a_case_reported_up_is_owned_by_the_county_and_both_hold_the_trail(pair: Pair) -> None:
    number = open_case(pair)
    reply = transfer(pair, pair.township, number, COUNTY)
    assert reply.outcome == types_pb2.TRANSFER_OUTCOME_ACCEPTED
    assert reply.owner == COUNTY
    assert chain_of(pair.township, number) == chain_of(pair.county, number)
    county = pair.stub(pair.county)
    county.RecordStep(
        ledger_pb2.RecordStepRequest(
            meta=rq.meta(), case=number, step="审批", handler="县局", opinion="同意",
            action=types_pb2.STEP_ACTION_PASS,
        )
    )  # fmt: skip
    with pytest.raises(grpc.RpcError) as caught:
        pair.stub(pair.township).Suspend(
            ledger_pb2.SuspendRequest(meta=rq.meta(), case=number, reason="x")
        )
    assert caught.value.code() is grpc.StatusCode.FAILED_PRECONDITION


def test_a_case_sent_back_down_is_delivered_by_the_township(pair: Pair) -> None:
    number = open_case(pair)
    transfer(pair, pair.township, number, COUNTY)
    county = pair.stub(pair.county)
    county.Conclude(
        ledger_pb2.ConcludeRequest(
            meta=rq.meta(), case=number, result=types_pb2.CONCLUSION_RESULT_DISAPPROVED,
            decision_no="历下不许〔2026〕1号",
        )
    )  # fmt: skip
    reply = transfer(pair, pair.county, number, TOWNSHIP)
    assert (reply.outcome, reply.owner) == (types_pb2.TRANSFER_OUTCOME_ACCEPTED, TOWNSHIP)
    pair.stub(pair.township).CollectAtWindow(
        ledger_pb2.CollectAtWindowRequest(meta=rq.meta(), case=number, signer="张三")
    )
    view = pair.stub(pair.township).GetCase(ledger_pb2.GetCaseRequest(case=number)).case
    assert list(view.owners) == [TOWNSHIP, COUNTY]
    assert view.owner == TOWNSHIP
    assert view.delivery == "delivered"
    assert [e.stage for e in events_of(pair.township, number)] == [
        "Submitted", "Accepted", "TransferRequested", "TransferAccepted",  # reported up
        "Concluded", "TransferRequested", "TransferAccepted",  # decided, sent back down
        "CollectedAtWindow",  # delivered where it was received
    ]  # fmt: skip
    # The county stopped writing when it sent the case down: the delivery is the
    # township's, and the courier carries it to the county, which held the case.
    delivery = events_of(pair.township, number)[-1]
    assert delivery.node == TOWNSHIP
    wait_for(
        lambda: chain_of(pair.county, number) == chain_of(pair.township, number),
        "the courier to bring the township's delivery to the county",
    )


def test_a_target_without_the_item_rejects_and_ownership_returns(pair: Pair) -> None:
    number = open_case(pair)  # Pingyin never published the item
    reply = transfer(pair, pair.township, number, PINGYIN)
    assert (reply.outcome, reply.owner) == (types_pb2.TRANSFER_OUTCOME_REJECTED, TOWNSHIP)
    assert chain_of(pair.township, number) == chain_of(pair.pingyin, number)
    pair.stub(pair.township).Suspend(
        ledger_pb2.SuspendRequest(meta=rq.meta(), case=number, reason="等待补充")
    )


def test_an_unreachable_target_leaves_the_transfer_pending_and_it_resumes(pair: Pair) -> None:
    number = open_case(pair)
    pair.county.stop(grace=0)
    reply = transfer(pair, pair.township, number, COUNTY)
    assert reply.outcome == types_pb2.TRANSFER_OUTCOME_PENDING
    view = pair.stub(pair.township).GetCase(ledger_pb2.GetCaseRequest(case=number)).case
    assert (view.owner, view.transfer_to) == (TOWNSHIP, COUNTY)
    config = dataclasses.replace(pair.county.config, listen=pair.directory[COUNTY])
    pair.county = start(config, (), pair.directory)  # back, on the same address and stores

    def handed_over() -> bool:
        case = pair.stub(pair.township).GetCase(ledger_pb2.GetCaseRequest(case=number)).case
        return (case.owner, case.transfer_to) == (COUNTY, "")

    wait_for(handed_over, "the pending transfer to complete")
    assert chain_of(pair.township, number) == chain_of(pair.county, number)
