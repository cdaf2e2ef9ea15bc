"""A case handed to another node brings its applicant's key, wrapped to that node's
sealing key, so the applicant's data opens there; nobody else gets the key."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from caseledger.ledger.personal.key_peers import Erasure
from caseledger.ledger.personal.sealing import mask
from caseledger.nodes.config import NodeConfig
from caseledger.nodes.handoff.handover import subjects_of
from caseledger.nodes.service.convert import ERASED, SEALED_ELSEWHERE
from caseledger.nodes.service.server import RunningNode, start
from caseledger.v1 import handoff_pb2, handoff_pb2_grpc, ledger_pb2, ledger_pb2_grpc, types_pb2
from tests.nodes import requests as rq
from tests.nodes.handoff.test_handoff import chain_of
from tests.pki import client_channel, node_channel, secured
from tests.timing import wait_for

TOWNSHIP = "370102001000"  # 解放路街道, where the case is submitted
COUNTY = "370102000000"  # 历下区, which takes it over
PINGYIN = "370124000000"  # 平阴县, which never holds it


@dataclass
class Nodes:
    township: RunningNode
    county: RunningNode
    pingyin: RunningNode

    @staticmethod
    def stub(node: RunningNode) -> ledger_pb2_grpc.LedgerServiceStub:
        return ledger_pb2_grpc.LedgerServiceStub(client_channel(node.address))


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[Nodes]:
    directory: dict[str, str] = {}
    running = []
    for code in (TOWNSHIP, COUNTY, PINGYIN):
        config = NodeConfig(code=code, data_dir=tmp_path / code, allow_client_time=True)
        node = start(secured(config), (), directory)
        directory[code] = node.address
        running.append(node)
    yield Nodes(*running)
    for node in running:
        node.stop(grace=0)


def handed_over(nodes: Nodes) -> str:
    for node in (nodes.township, nodes.county):
        Nodes.stub(node).PublishItem(
            ledger_pb2.PublishItemRequest(terms=rq.item_terms(), meta=rq.publisher())
        )
    township = Nodes.stub(nodes.township)
    number = township.Submit(rq.submit()).result.case_number
    township.Accept(ledger_pb2.AcceptRequest(meta=rq.meta(), case=number, notice_no="受1号"))
    reply = township.Transfer(
        ledger_pb2.TransferRequest(meta=rq.meta(), case=number, target=COUNTY, reason="转报")
    )
    assert reply.outcome == types_pb2.TRANSFER_OUTCOME_ACCEPTED
    return number


def applicant_shown(node: RunningNode, number: str) -> str:
    reply = Nodes.stub(node).GetCase(ledger_pb2.GetCaseRequest(case=number))
    return str(reply.case.applicant_name)


def test_the_node_that_takes_a_case_opens_its_applicants_data(nodes: Nodes) -> None:
    number = handed_over(nodes)
    # The same masked name the township shows, opened with the key that came along.
    assert applicant_shown(nodes.county, number) == mask("张三")
    assert applicant_shown(nodes.township, number) == mask("张三")
    # The key moved outside the trail: both chains are the same, unchanged.
    assert chain_of(nodes.county, number) == chain_of(nodes.township, number)


def test_a_node_that_is_not_taking_the_case_gets_no_key(nodes: Nodes) -> None:
    number = handed_over(nodes)
    case_id = str(nodes.township.ledger.resolve(number))
    with (
        node_channel(nodes.township.address, PINGYIN) as channel,
        pytest.raises(grpc.RpcError) as caught,
    ):
        handoff_pb2_grpc.HandoffServiceStub(channel).ExportSubjectKeys(
            handoff_pb2.ExportSubjectKeysRequest(case_id=case_id)
        )
    assert caught.value.code() is grpc.StatusCode.PERMISSION_DENIED
    status = rpc_status.from_call(caught.value)  # type: ignore[arg-type]
    assert status is not None
    info = error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(info)
    assert info.reason == "NOT_THE_TAKER"


def test_a_node_never_handed_the_case_cannot_open_it(nodes: Nodes) -> None:
    number = handed_over(nodes)
    # Pingyin is given the trail (a holder that took no handover) but no key.
    case_id = nodes.township.ledger.resolve(number)
    trail = nodes.township.ledger.stored_trail(case_id)
    received = nodes.pingyin.ledger.received
    assert received is not None
    received.accept_trail(TOWNSHIP, trail, nodes.pingyin.ledger.known_hashes)
    assert applicant_shown(nodes.pingyin, str(case_id)) == SEALED_ELSEWHERE


# -- an erasure reaches every copy ---------------------------------------------------------


def erase_at(node: RunningNode) -> None:
    Nodes.stub(node).EraseSubject(rq.erase_subject())


def erasure_at(node: RunningNode, subject: str) -> Erasure | None:
    assert node.handoffs.erasures is not None
    return node.handoffs.erasures.peers.erasure(subject)


@pytest.mark.parametrize("where", ["township", "county"])
def test_an_erasure_at_either_node_erases_both_copies_and_each_records_it(
    nodes: Nodes, where: str
) -> None:
    number = handed_over(nodes)
    chain = chain_of(nodes.township, number)
    first, other = (
        (nodes.township, nodes.county) if where == "township" else (nodes.county, nodes.township)
    )
    subject = subjects_of(nodes.township.ledger, nodes.township.ledger.resolve(number))[0]

    erase_at(first)  # by identity number: at the county, the id the township gave is found too

    wait_for(
        lambda: applicant_shown(other, number) == ERASED, "the erasure to reach the other node"
    )
    assert applicant_shown(first, number) == ERASED
    here, there = erasure_at(first, subject), erasure_at(other, subject)
    assert here is not None
    assert there is not None
    assert there.requested_by == first.config.code
    # Crypto-shredding changes no event: both chains are as they were.
    assert chain_of(nodes.township, number) == chain_of(nodes.county, number) == chain


def test_a_notice_from_a_node_that_never_shared_the_key_is_refused(nodes: Nodes) -> None:
    number = handed_over(nodes)
    subject = subjects_of(nodes.township.ledger, nodes.township.ledger.resolve(number))[0]
    with (
        node_channel(nodes.county.address, PINGYIN) as channel,
        pytest.raises(grpc.RpcError) as caught,
    ):
        handoff_pb2_grpc.HandoffServiceStub(channel).EraseSubjectKey(
            handoff_pb2.EraseSubjectKeyRequest(subject=subject, from_node=PINGYIN)
        )
    assert caught.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert applicant_shown(nodes.county, number) == mask("张三")
