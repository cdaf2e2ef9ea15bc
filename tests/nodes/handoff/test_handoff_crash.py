"""A handoff killed at each step, on either side, ends with one owner and a whole trail.

Two node processes (the township 解放路街道 and its county 历下区) run from a
network file. One of them is started with a failpoint armed, where it dies
as if killed -9; it is then started again without it. Whatever the step, both
nodes must end up agreeing that the county owns the case, with the same
verified trail.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from caseledger.cli.audit.trail import verify_trail
from caseledger.v1 import ledger_pb2, ledger_pb2_grpc, types_pb2
from tests.nodes import requests as rq
from tests.nodes.processes import NodeProcess, free_ports, write_network
from tests.pki import client_channel
from tests.samples import FOOD_LICENCE
from tests.timing import scaled, wait_for

TOWNSHIP = "370102001000"
COUNTY = "370102000000"


class Network:
    def __init__(self, folder: Path) -> None:
        ports = free_ports(2)
        self.addresses = {TOWNSHIP: f"127.0.0.1:{ports[0]}", COUNTY: f"127.0.0.1:{ports[1]}"}
        path = write_network(
            folder, {TOWNSHIP: ("解放路街道", ports[0]), COUNTY: ("历下区", ports[1])}
        )
        self.nodes = {
            code: NodeProcess(path, code, folder / f"{code}.log") for code in self.addresses
        }

    def stub(self, code: str) -> ledger_pb2_grpc.LedgerServiceStub:
        return ledger_pb2_grpc.LedgerServiceStub(client_channel(self.addresses[code]))

    def view(self, code: str, number: str) -> ledger_pb2.CaseView:
        request = ledger_pb2.GetCaseRequest(case=number)
        return self.stub(code).GetCase(request, timeout=scaled(5)).case

    def events(self, code: str, number: str) -> list[ledger_pb2.CaseEvent]:
        """The node's trail of the case, every hash recomputed (docs/canonical.md)."""
        request = ledger_pb2.ListCaseEventsRequest(case=number)
        trail = self.stub(code).ListCaseEvents(request, timeout=scaled(5))
        report = verify_trail(trail, number)
        assert report.verified, (code, report.first_break)
        return list(trail.events)

    def hashes(self, code: str, number: str) -> list[str]:
        return [event.hash for event in self.events(code, number)]


@pytest.fixture
def network(tmp_path: Path) -> Iterator[Network]:
    built = Network(tmp_path)
    yield built
    for node in built.nodes.values():
        node.stop()


def _settled(network: Network, number: str) -> bool:
    try:
        township, county = network.view(TOWNSHIP, number), network.view(COUNTY, number)
    except grpc.RpcError as error:
        if error.code() is grpc.StatusCode.UNAVAILABLE:
            return False  # the restarted node is not listening yet
        raise
    return all(v.owner == COUNTY and not v.transfer_to for v in (township, county))


@pytest.mark.parametrize(
    ("victim", "failpoint"),
    [
        (TOWNSHIP, "handoff.owner.requested"),  # asked, then died before offering
        (COUNTY, "handoff.target.imported"),  # pulled the trail, died before answering
        (COUNTY, "handoff.target.answered"),  # answered, died before replying
        (TOWNSHIP, "handoff.owner.answered"),  # got the answer, died before pulling it
    ],
)
def test_a_handoff_killed_at_a_step_ends_with_one_owner_and_a_whole_trail(
    network: Network, victim: str, failpoint: str
) -> None:
    for code, node in network.nodes.items():
        node.start(failpoint if code == victim else "")
    network.stub(COUNTY).PublishItem(
        ledger_pb2.PublishItemRequest(terms=rq.item_terms(), meta=rq.publisher())
    )

    def township_has_item() -> bool:
        try:
            network.stub(TOWNSHIP).GetItem(
                ledger_pb2.GetItemRequest(implementation_code=FOOD_LICENCE)
            )
        except grpc.RpcError as error:
            if error.code() is grpc.StatusCode.NOT_FOUND:
                return False  # not replicated down yet
            raise
        return True

    wait_for(township_has_item, "the catalogue to flow down to the township")
    township = network.stub(TOWNSHIP)
    number = township.Submit(rq.submit()).result.case_number
    township.Accept(ledger_pb2.AcceptRequest(meta=rq.meta(), case=number, notice_no="受1号"))

    request = ledger_pb2.TransferRequest(meta=rq.meta(), case=number, target=COUNTY, reason="转报")
    if victim == TOWNSHIP:  # the owner dies while answering the call
        with pytest.raises(grpc.RpcError) as caught:
            township.Transfer(request, timeout=scaled(30))
        assert caught.value.code() is grpc.StatusCode.UNAVAILABLE
    else:  # the target dies: the owner keeps the transfer pending
        reply = township.Transfer(request, timeout=scaled(30))
        assert reply.outcome == types_pb2.TRANSFER_OUTCOME_PENDING
    wait_for(network.nodes[victim].died, f"the {failpoint} failpoint to kill the node")

    network.nodes[victim].start()
    wait_for(lambda: _settled(network, number), "one owner, agreed by both nodes")
    wait_for(
        lambda: network.hashes(TOWNSHIP, number) == network.hashes(COUNTY, number),
        "both nodes to hold the same trail",
    )
    assert [e.stage for e in network.events(COUNTY, number)] == [
        "Submitted", "Accepted", "TransferRequested", "TransferAccepted",
    ]  # fmt: skip
