"""A licence id is refused at any node that can see it already issued: a county
holds the copies of its township's cases, so it refuses an id the township issued."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from caseledger.ledger.codes.identifiers import CreditCode, ELicenceId
from caseledger.v1 import ledger_pb2, ledger_pb2_grpc
from tests.nodes import requests as rq
from tests.nodes.replication.feeds import TOWNSHIP, GrpcHarness
from tests.nodes.service.test_bad_input import details
from tests.pki import client_channel
from tests.samples import LIXIA_BUREAU
from tests.timing import wait_for

Stub = ledger_pb2_grpc.LedgerServiceStub


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[GrpcHarness]:
    running = GrpcHarness(tmp_path)
    try:
        yield running
    finally:
        running.close()


def licence(serial: str) -> str:
    return str(ELicenceId.issue("JY", CreditCode(LIXIA_BUREAU), serial, 1))


def test_the_county_refuses_a_licence_id_its_township_issued(harness: GrpcHarness) -> None:
    taken = licence("23701029990101")
    with (
        client_channel(harness.source.address) as township_channel,
        client_channel(harness.receiver.address) as county_channel,
    ):
        township, county = Stub(township_channel), Stub(county_channel)
        for stub in (township, county):
            stub.PublishItem(rq.publish_item())
        issued_there = rq.prepared(township, rq.Stage.APPROVED)
        request = rq.issue_certificate(issued_there)
        request.licence_id = taken
        township.IssueCertificate(request)
        case_id = township.GetCase(ledger_pb2.GetCaseRequest(case=issued_there)).case.case_id
        wait_for(harness.caught_up, "the county holds the township's log")

        own = rq.prepared(county, rq.Stage.APPROVED)
        again = rq.issue_certificate(own)
        again.licence_id = taken
        with pytest.raises(grpc.RpcError) as raised:
            county.IssueCertificate(again)
        assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert details(raised.value)[1]["licence_id"] == (
            f"{taken} was already issued for case {case_id} (issued by node {TOWNSHIP})"
        )
        # The refusal held nothing: the county's case takes an id no one holds.
        fresh = rq.issue_certificate(own)
        fresh.licence_id = licence("23701029990102")
        county.IssueCertificate(fresh)
        # The township cannot see the county's own certificates: the check reaches
        # only the logs a node holds (its own and its descendants').
        other = rq.prepared(township, rq.Stage.APPROVED)
        mine = rq.issue_certificate(other)
        mine.licence_id = fresh.licence_id
        township.IssueCertificate(mine)
