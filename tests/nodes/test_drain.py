"""SIGTERM drains a node: it stops taking calls, finishes the ones it took,
exits 0, and every append it acknowledged is there when it starts again.

A call is held in flight by a transfer target the test plays itself: the
node's Transfer call waits for the target's answer to its offer, and the
target answers when the test says so. That lets a test see a call that was
running when SIGTERM arrived, and new calls arriving after it, apart.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import grpc
import pytest

from caseledger.v1 import handoff_pb2, handoff_pb2_grpc, ledger_pb2, ledger_pb2_grpc, types_pb2
from tests.nodes import requests as rq
from tests.nodes.processes import NodeProcess, free_ports, write_network
from tests.pki import client_channel, shared_pki
from tests.timing import scaled, wait_for

COUNTY = "370102000000"  # 历下区: the node that drains
TOWNSHIP = "370102001000"  # 解放路街道: below it, a transfer target played by the test
_WAIT = 60.0
REFUSED = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED})
"""How a stopping node turns a call away unanswered: UNAVAILABLE once its port is
closed, CANCELLED (by gRPC) for a call that reached it as it began to stop,
before any handler took the call."""


class HeldTarget(handoff_pb2_grpc.HandoffServiceServicer):
    """A transfer target that answers an offer only once `answer` is called,
    and then as an unreachable node does: the owner keeps the transfer pending."""

    def __init__(self) -> None:
        self.offered = threading.Event()
        self._answer = threading.Event()

    def answer(self) -> None:
        self._answer.set()

    def OfferCase(  # noqa: N802 (the RPC's name)
        self, request: handoff_pb2.OfferCaseRequest, context: grpc.ServicerContext
    ) -> NoReturn:
        self.offered.set()
        self._answer.wait(scaled(_WAIT))
        context.abort(grpc.StatusCode.UNAVAILABLE, "the target is going away")

    def ExportTrail(  # noqa: N802 (the RPC's name)
        self, request: handoff_pb2.ExportTrailRequest, context: grpc.ServicerContext
    ) -> NoReturn:
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "not a node")

    def DeliverTrail(  # noqa: N802 (the RPC's name)
        self, request: handoff_pb2.DeliverTrailRequest, context: grpc.ServicerContext
    ) -> NoReturn:
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "not a node")

    def ExportSubjectKeys(  # noqa: N802 (the RPC's name)
        self, request: handoff_pb2.ExportSubjectKeysRequest, context: grpc.ServicerContext
    ) -> NoReturn:
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "not a node")

    def EraseSubjectKey(  # noqa: N802 (the RPC's name)
        self, request: handoff_pb2.EraseSubjectKeyRequest, context: grpc.ServicerContext
    ) -> NoReturn:
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "not a node")


@dataclass
class County:
    node: NodeProcess
    address: str
    target: HeldTarget

    def stub(self) -> ledger_pb2_grpc.LedgerServiceStub:
        return ledger_pb2_grpc.LedgerServiceStub(client_channel(self.address))

    def open_cases(self, count: int) -> list[str]:
        stub = self.stub()
        numbers = [stub.Submit(rq.submit()).result.case_number for _ in range(count)]
        for number in numbers:
            stub.Accept(ledger_pb2.AcceptRequest(meta=rq.meta(), case=number, notice_no="受1号"))
        return numbers

    def terminate(self) -> None:
        assert self.node.process is not None
        self.node.process.send_signal(signal.SIGTERM)

    def exit_status(self) -> int:
        assert self.node.process is not None
        return self.node.process.wait(timeout=scaled(_WAIT))


@pytest.fixture
def county(tmp_path: Path) -> Iterator[County]:
    target = HeldTarget()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    handoff_pb2_grpc.add_HandoffServiceServicer_to_server(target, server)
    target_port = shared_pki().node(tmp_path / "township", TOWNSHIP).bind(server, "127.0.0.1:0")
    server.start()
    (port,) = free_ports(1)
    network = write_network(
        tmp_path, {COUNTY: ("历下区", port), TOWNSHIP: ("解放路街道", target_port)}
    )
    node = NodeProcess(network, COUNTY, tmp_path / "node.log")
    node.start()
    built = County(node, f"127.0.0.1:{port}", target)
    built.stub().PublishItem(
        ledger_pb2.PublishItemRequest(terms=rq.item_terms(), meta=rq.publisher())
    )
    yield built
    node.kill()  # whatever the test did, no node outlives it
    target.answer()
    server.stop(grace=None)


def transfer_in_flight(county: County) -> grpc.Future[ledger_pb2.TransferResponse]:
    """A Transfer call the node is running: it waits in the target's offer."""
    (number,) = county.open_cases(1)
    request = ledger_pb2.TransferRequest(
        meta=rq.meta(), case=number, target=TOWNSHIP, reason="下发"
    )
    call: grpc.Future[ledger_pb2.TransferResponse] = county.stub().Transfer.future(
        request, timeout=scaled(_WAIT)
    )
    assert county.target.offered.wait(scaled(_WAIT)), "the node never offered the case"
    return call


def refusal_of_a_new_call(county: County) -> grpc.StatusCode:
    """Keep calling the node afresh until it refuses a call; the refusal's code."""
    refusals: list[grpc.StatusCode] = []

    def refused() -> bool:
        try:
            county.stub().Ping(ledger_pb2.PingRequest(), timeout=scaled(5))
        except grpc.RpcError as error:
            refusals.append(error.code())
            return True
        return False

    wait_for(refused, "the draining node to refuse a new call", _WAIT)
    return refusals[0]


def test_sigterm_during_appends_loses_nothing_acknowledged(county: County) -> None:
    numbers = county.open_cases(4)
    stub = county.stub()
    acknowledged: list[tuple[str, int]] = []
    unexpected: list[grpc.StatusCode] = []
    lock = threading.Lock()
    stop = threading.Event()

    def append(number: str) -> None:
        while not stop.is_set():
            request = ledger_pb2.RecordStepRequest(
                meta=rq.meta(), case=number, step="审查", handler="李四", opinion="同意",
                action=types_pb2.STEP_ACTION_PASS,
            )  # fmt: skip
            try:
                reply = stub.RecordStep(request, timeout=scaled(10))
            except grpc.RpcError as error:
                # Turned away: not acknowledged, so nothing is owed. Any other
                # error is a fault of the drain.
                if error.code() not in REFUSED:
                    with lock:
                        unexpected.append(error.code())
                return
            with lock:
                acknowledged.append((number, reply.result.version))

    clients = [threading.Thread(target=append, args=(n,), daemon=True) for n in numbers]
    for client in clients:
        client.start()
    wait_for(lambda: len(acknowledged) >= 40, "40 appends to be acknowledged", _WAIT)
    county.terminate()
    assert county.exit_status() == 0
    stop.set()
    for client in clients:
        client.join(scaled(_WAIT))
    assert unexpected == []

    county.node.start()
    restarted = county.stub()
    for number, version in acknowledged:
        request = ledger_pb2.ListCaseEventsRequest(case=number)
        events = restarted.ListCaseEvents(request, wait_for_ready=True, timeout=scaled(30)).events
        assert len(events) >= version, (number, version)


def test_a_draining_node_refuses_new_calls_while_it_finishes_one_it_took(county: County) -> None:
    in_flight = transfer_in_flight(county)
    county.terminate()
    assert refusal_of_a_new_call(county) in REFUSED
    assert not in_flight.done()  # still held by the target: the node is draining, not gone


def test_a_call_in_flight_when_sigterm_arrives_is_answered_before_the_node_exits_0(
    county: County,
) -> None:
    in_flight = transfer_in_flight(county)
    county.terminate()
    refusal_of_a_new_call(county)  # the drain has begun
    county.target.answer()
    reply = in_flight.result()
    assert (reply.outcome, reply.owner) == (types_pb2.TRANSFER_OUTCOME_PENDING, COUNTY)
    assert county.exit_status() == 0
