"""SIGTERM drains a node: it stops taking calls, finishes the ones it took,
exits 0, and every append it acknowledged is there when it starts again."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import yaml

from caseledger.v1 import ledger_pb2, ledger_pb2_grpc, types_pb2
from tests.nodes import requests as rq
from tests.nodes.processes import NodeProcess, free_ports, write_network

COUNTY = "370102000000"


@pytest.fixture
def node(tmp_path: Path) -> Iterator[NodeProcess]:
    (port,) = free_ports(1)
    network = write_network(tmp_path, {COUNTY: ("历下区", port)})
    process = NodeProcess(network, COUNTY, tmp_path / "node.log")
    yield process
    process.kill()  # whatever the test did, no node outlives it


def test_sigterm_during_appends_loses_nothing_acknowledged(node: NodeProcess) -> None:
    node.start()
    port = int(yaml.safe_load(node.network.read_text())["nodes"][0]["address"].split(":")[1])
    address = f"127.0.0.1:{port}"
    stub = ledger_pb2_grpc.LedgerServiceStub(grpc.insecure_channel(address))
    stub.PublishItem(ledger_pb2.PublishItemRequest(terms=rq.item_terms()))
    numbers = [stub.Submit(rq.submit()).result.case_number for _ in range(4)]
    for number in numbers:
        stub.Accept(ledger_pb2.AcceptRequest(meta=rq.meta(), case=number, notice_no="受1号"))

    acknowledged: list[tuple[str, int]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def append(number: str) -> None:
        while not stop.is_set():
            request = ledger_pb2.RecordStepRequest(
                meta=rq.meta(), case=number, step="审查", handler="李四", opinion="同意",
                action=types_pb2.STEP_ACTION_PASS,
            )  # fmt: skip
            try:
                reply = stub.RecordStep(request, timeout=10)
            except grpc.RpcError:
                return  # refused or cut off: not acknowledged, so nothing is owed
            with lock:
                acknowledged.append((number, reply.result.version))

    clients = [threading.Thread(target=append, args=(n,)) for n in numbers]
    for client in clients:
        client.start()
    while len(acknowledged) < 40:
        time.sleep(0.01)
    assert node.process is not None
    node.process.send_signal(signal.SIGTERM)
    assert node.process.wait(timeout=60) == 0
    stop.set()
    for client in clients:
        client.join()

    node.start()
    restarted = ledger_pb2_grpc.LedgerServiceStub(grpc.insecure_channel(address))
    for number, version in acknowledged:
        request = ledger_pb2.ListCaseEventsRequest(case=number)
        events = restarted.ListCaseEvents(request, wait_for_ready=True, timeout=30).events
        assert len(events) >= version, (number, version)
