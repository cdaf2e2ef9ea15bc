"""Finding cases at a node: by applicant through the blind index, the catalogue's
items, the required materials and a licence id held by one case only."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import grpc
import pytest

from caseledger.ledger.codes.identifiers import CreditCode, ELicenceId
from caseledger.ledger.codes.identifiers import citizen_id_check_char as check_char
from caseledger.nodes.service.server import RunningNode, start
from caseledger.v1 import ledger_pb2, ledger_pb2_grpc, types_pb2
from tests.nodes import requests as rq
from tests.nodes.handoff.test_subject_keys import (  # `nodes`: three nodes, a fixture
    COUNTY,
    TOWNSHIP,
    Nodes,
    handed_over,
    nodes,  # noqa: F401
)
from tests.nodes.service.test_bad_input import details
from tests.nodes.stores import node_config
from tests.pki import client_channel, shared_pki
from tests.samples import CITIZEN_ID, LIXIA, LIXIA_BUREAU

Stub = ledger_pb2_grpc.LedgerServiceStub
NATURAL_PERSON = types_pb2.APPLICANT_TYPE_NATURAL_PERSON
OTHER_CITIZEN = "37010219851111002" + check_char("37010219851111002")
ENDS_IN_X = "37010219800101100" + check_char("37010219800101100")


def search(id_number: str = CITIZEN_ID) -> ledger_pb2.SearchCasesRequest:
    return ledger_pb2.SearchCasesRequest(applicant_type=NATURAL_PERSON, id_number=id_number)


def submitted_by(stub: Stub, id_number: str) -> str:
    request = rq.submit()
    request.applicant.id_number = id_number
    return str(stub.Submit(request).result.case_number)


def test_a_search_by_identity_number_finds_the_applicants_cases_newest_first(
    stub: Stub,
) -> None:
    stub.PublishItem(rq.publish_item())
    assert ENDS_IN_X.endswith("X")
    first = submitted_by(stub, ENDS_IN_X)
    other = submitted_by(stub, OTHER_CITIZEN)
    second = submitted_by(stub, ENDS_IN_X.lower())  # the check character spelled small
    found = stub.SearchCases(search(ENDS_IN_X))
    assert [view.case_number for view in found.cases] == [second, first]
    assert all(view.applicant_name == "张*" for view in found.cases)
    assert not found.truncated
    assert [v.case_number for v in stub.SearchCases(search(OTHER_CITIZEN)).cases] == [other]


def test_a_search_stops_at_the_page_size_and_says_so(stub: Stub) -> None:
    stub.PublishItem(rq.publish_item())
    for _ in range(3):
        submitted_by(stub, CITIZEN_ID)
    request = search()
    request.page_size = 2
    found = stub.SearchCases(request)
    assert len(found.cases) == 2
    assert found.truncated


def test_the_index_never_holds_an_identity_number_in_clear(node: RunningNode, stub: Stub) -> None:
    stub.PublishItem(rq.publish_item())
    submitted_by(stub, CITIZEN_ID)
    index = Path(node.config.data_dir) / f"{node.config.code}.index.sqlite"
    with sqlite3.connect(index) as conn:
        stored = b"".join(bytes(row[0]) for row in conn.execute("SELECT token FROM applicants"))
    assert len(stored) == 32
    assert CITIZEN_ID.encode() not in stored
    assert CITIZEN_ID.encode() not in index.read_bytes()


def test_a_malformed_identity_number_is_a_bad_field(stub: Stub) -> None:
    bad = CITIZEN_ID[:-1] + ("0" if CITIZEN_ID[-1] != "0" else "1")
    with pytest.raises(grpc.RpcError) as raised:
        stub.SearchCases(search(bad))
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert set(details(raised.value)[1]) == {"id_number"}
    with pytest.raises(grpc.RpcError) as missing:
        stub.SearchCases(ledger_pb2.SearchCasesRequest(id_number=CITIZEN_ID))
    assert set(details(missing.value)[1]) == {"applicant_type"}


def test_an_operator_of_another_county_is_not_answered(node: RunningNode) -> None:
    pki = shared_pki()
    token = pki.operator_token("clerk-shizhong", ["window_clerk"], division="370103000000")
    with pki.client_channel(node.address, token) as channel, pytest.raises(grpc.RpcError) as raised:
        Stub(channel).SearchCases(search())
    assert raised.value.code() is grpc.StatusCode.PERMISSION_DENIED


def test_a_clerk_of_the_node_finds_the_case(node: RunningNode, stub: Stub) -> None:
    stub.PublishItem(rq.publish_item())
    number = submitted_by(stub, CITIZEN_ID)
    pki = shared_pki()
    token = pki.operator_token("clerk-lixia", ["window_clerk"], division=node.config.code)
    with pki.client_channel(node.address, token) as channel:
        found = Stub(channel).SearchCases(search())
    assert [view.case_number for view in found.cases] == [number]


def test_erasing_a_subject_says_how_many_cases_it_touched(stub: Stub) -> None:
    stub.PublishItem(rq.publish_item())
    submitted_by(stub, CITIZEN_ID)
    submitted_by(stub, CITIZEN_ID)
    submitted_by(stub, OTHER_CITIZEN)
    assert stub.EraseSubject(rq.erase_subject()).cases == 2


def test_the_catalogue_lists_every_item_the_node_holds(stub: Stub) -> None:
    assert list(stub.ListItems(ledger_pb2.ListItemsRequest()).items) == []
    stub.PublishItem(rq.publish_item())
    revised = rq.item_terms()
    revised.name = "食品经营许可证核发（变更）"
    stub.PublishItem(ledger_pb2.PublishItemRequest(terms=revised, meta=rq.publisher()))
    items = stub.ListItems(ledger_pb2.ListItemsRequest()).items
    assert [item.name for item in items] == ["食品经营许可证核发（变更）"]
    assert list(items[0].required_materials) == ["食品经营许可申请书"]


def test_acceptance_names_the_required_materials_missing(stub: Stub) -> None:
    terms = rq.item_terms()
    terms.required_materials.append("营业执照复印件")
    stub.PublishItem(ledger_pb2.PublishItemRequest(terms=terms, meta=rq.publisher()))
    number = str(stub.Submit(rq.submit()).result.case_number)
    with pytest.raises(grpc.RpcError) as raised:
        stub.Accept(rq.accept(number))
    assert raised.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert "营业执照复印件" in (raised.value.details() or "")
    stub.RequestCorrection(rq.request_correction(number))
    stub.SupplementMaterials(rq.supplement_materials(number))
    stub.Accept(rq.accept(number))


def test_one_licence_id_is_issued_for_one_case_only(stub: Stub) -> None:
    stub.PublishItem(rq.publish_item())
    first = rq.prepared(stub, rq.Stage.APPROVED)
    second = rq.prepared(stub, rq.Stage.APPROVED)
    licence = str(ELicenceId.issue("JY", CreditCode(LIXIA_BUREAU), "23701029990001", 1))
    request = rq.issue_certificate(first)
    request.licence_id = licence
    stub.IssueCertificate(request)
    again = rq.issue_certificate(second)
    again.licence_id = licence
    with pytest.raises(grpc.RpcError) as raised:
        stub.IssueCertificate(again)
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert details(raised.value)[1]["licence_id"].endswith(f"already issued for case {first}")


def test_a_licence_id_refused_for_another_reason_is_not_held(stub: Stub) -> None:
    stub.PublishItem(rq.publish_item())
    disapproved = rq.prepared(stub, rq.Stage.DISAPPROVED)
    approved = rq.prepared(stub, rq.Stage.APPROVED)
    licence = str(ELicenceId.issue("JY", CreditCode(LIXIA_BUREAU), "23701029990002", 1))
    refused = rq.issue_certificate(disapproved)
    refused.licence_id = licence
    with pytest.raises(grpc.RpcError):
        stub.IssueCertificate(refused)
    issued = rq.issue_certificate(approved)
    issued.licence_id = licence
    stub.IssueCertificate(issued)


def test_cases_held_before_the_index_existed_are_found(tmp_path: Path) -> None:
    """The index follows the node's log: a node whose index file is new finds the
    cases it held already, and not an erased applicant's."""
    config = node_config(LIXIA, tmp_path, "sqlite", allow_client_time=True)
    running = start(config)
    try:
        with client_channel(running.address) as channel:
            stub = Stub(channel)
            stub.PublishItem(rq.publish_item())
            kept = submitted_by(stub, CITIZEN_ID)
            erased = submitted_by(stub, OTHER_CITIZEN)
            stub.EraseSubject(rq.erase_subject(OTHER_CITIZEN))
    finally:
        running.stop(grace=0)
    for made in tmp_path.glob(f"{LIXIA}.index.sqlite*"):
        made.unlink()
    running = start(config)
    try:
        with client_channel(running.address) as channel:
            stub = Stub(channel)
            assert [view.case_number for view in stub.SearchCases(search()).cases] == [kept]
            assert erased not in [
                v.case_number for v in stub.SearchCases(search(OTHER_CITIZEN)).cases
            ]
    finally:
        running.stop(grace=0)


def test_a_case_handed_over_is_found_where_it_went_and_only_by_whom_it_concerns(
    request: pytest.FixtureRequest,
) -> None:
    """The county took the case with its applicant's key, so its index finds it; at the
    township, a clerk of the township no longer gets it (its owner is outside their
    division), while an account of the province still does."""
    three: Nodes = request.getfixturevalue("nodes")
    number = handed_over(three)
    county = Nodes.stub(three.county).SearchCases(search())
    assert [view.case_number for view in county.cases] == [number]
    assert county.cases[0].owner == COUNTY
    assert [v.case_number for v in Nodes.stub(three.township).SearchCases(search()).cases] == [
        number
    ]
    pki = shared_pki()
    token = pki.operator_token("clerk-jiefanglu", ["window_clerk"], division=TOWNSHIP)
    with pki.client_channel(three.township.address, token) as channel:
        assert list(Stub(channel).SearchCases(search()).cases) == []
