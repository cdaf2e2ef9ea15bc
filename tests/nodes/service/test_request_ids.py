"""Finding 10: a request id is unique per node, across cases and commands.

`caseledger --help` says a request id reused for a different command is exit 7
(ALREADY_EXISTS). The node took an id again for another case, and took the
same fields sent to another command (Suspend, then Withdraw, both meta, case
and reason) as a retry of the first. Now each is refused with
REQUEST_ID_REUSED and writes nothing, while a retry of the very same request
still returns the first result and appends nothing, also after a restart.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from caseledger.cli.main import translate
from caseledger.nodes.config import NodeConfig
from caseledger.nodes.service.server import RunningNode, start
from caseledger.v1 import ledger_pb2, ledger_pb2_grpc
from tests.nodes import requests as rq
from tests.nodes.requests import Stage
from tests.pki import client_channel, secured
from tests.samples import LIXIA, LIXIA_BUREAU

Stub = ledger_pb2_grpc.LedgerServiceStub
ALREADY_EXISTS = grpc.StatusCode.ALREADY_EXISTS


class Node:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.running: RunningNode | None = None
        self.channel: grpc.Channel | None = None

    def start(self) -> Stub:
        directory = {rq.JINAN: "127.0.0.1:9", LIXIA: "127.0.0.1:9"}
        config = secured(NodeConfig(code=LIXIA, data_dir=self.folder, allow_client_time=True))
        self.running = start(config, (), directory)
        self.channel = client_channel(self.running.address)
        return ledger_pb2_grpc.LedgerServiceStub(self.channel)

    def stop(self) -> None:
        if self.channel is not None:
            self.channel.close()
        if self.running is not None:
            self.running.stop(grace=0)
        self.running = self.channel = None

    def written(self) -> int:
        assert self.running is not None
        return int(self.running.ledger.recorder.max_notification_id() or 0)

    def version(self, number: str) -> int:
        assert self.running is not None
        return self.running.ledger.case(number).version


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    built = Node(tmp_path)
    yield built
    built.stop()


@pytest.fixture
def stub(node: Node) -> Stub:
    started = node.start()
    started.PublishItem(rq.publish_item())
    return started


def refused_as_reused(error: grpc.RpcError) -> bool:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return bool(error.code() is ALREADY_EXISTS and info.reason == "REQUEST_ID_REUSED")
    return False


def test_finding_10_an_id_reused_for_another_case_is_refused_and_writes_nothing(
    node: Node, stub: Stub
) -> None:
    first, second = rq.prepared(stub, Stage.ACCEPTED), rq.prepared(stub, Stage.ACCEPTED)
    stub.Suspend(ledger_pb2.SuspendRequest(meta=rq.meta("shared-id"), case=first, reason="x"))
    written, version = node.written(), node.version(second)

    with pytest.raises(grpc.RpcError) as caught:
        stub.Suspend(ledger_pb2.SuspendRequest(meta=rq.meta("shared-id"), case=second, reason="x"))

    assert refused_as_reused(caught.value), caught.value
    assert "shared-id" in (caught.value.details() or "")
    assert translate(caught.value, "node").exit_code == 7
    assert (node.written(), node.version(second)) == (written, version)


def test_finding_10_the_same_fields_sent_to_another_command_are_not_a_retry(
    node: Node, stub: Stub
) -> None:
    """Suspend and Withdraw carry the same fields: the same bytes with the same
    id were taken as a retry of the Suspend, and the case was not withdrawn."""
    number = rq.prepared(stub, Stage.ACCEPTED)
    meta = rq.meta("suspend-or-withdraw")
    stub.Suspend(ledger_pb2.SuspendRequest(meta=meta, case=number, reason="申请人要求"))
    written = node.written()

    with pytest.raises(grpc.RpcError) as caught:
        stub.Withdraw(ledger_pb2.WithdrawRequest(meta=meta, case=number, reason="申请人要求"))

    assert refused_as_reused(caught.value), caught.value
    assert node.written() == written


def test_finding_10_a_submission_may_not_take_an_id_a_command_took(node: Node, stub: Stub) -> None:
    number = rq.prepared(stub, Stage.SUBMITTED)
    stub.Accept(ledger_pb2.AcceptRequest(meta=rq.meta("taken"), case=number, notice_no="受1号"))
    written = node.written()

    with pytest.raises(grpc.RpcError) as caught:
        stub.Submit(rq.submit("taken"))

    assert refused_as_reused(caught.value), caught.value
    assert node.written() == written


def test_finding_10_a_command_may_not_take_the_id_of_a_submission(node: Node, stub: Stub) -> None:
    stub.Submit(rq.submit("submitted-with"))
    other = rq.prepared(stub, Stage.SUBMITTED)
    written = node.written()

    with pytest.raises(grpc.RpcError) as caught:
        stub.Accept(
            ledger_pb2.AcceptRequest(meta=rq.meta("submitted-with"), case=other, notice_no="受2号")
        )

    assert refused_as_reused(caught.value), caught.value
    assert node.written() == written


def test_a_retry_of_the_same_request_still_returns_the_first_result(node: Node, stub: Stub) -> None:
    number = rq.prepared(stub, Stage.ACCEPTED)
    request = rq.suspend(number)
    first = stub.Suspend(request).result
    written = node.written()

    again = stub.Suspend(request).result

    assert (again.version, again.replayed) == (first.version, True)
    assert node.written() == written


def test_an_id_a_refused_request_presented_is_free_for_another(node: Node, stub: Stub) -> None:
    """A submission of an unpublished item is refused after it took its id: the
    id named no case that recorded it, so the next request takes it over."""
    refused = rq.submit("refused-first")
    refused.item_code = f"{LIXIA_BUREAU}4370100200003"
    with pytest.raises(grpc.RpcError) as caught:
        stub.Submit(refused)
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    number = rq.prepared(stub, Stage.ACCEPTED)

    reply = stub.Suspend(
        ledger_pb2.SuspendRequest(meta=rq.meta("refused-first"), case=number, reason="x")
    )

    assert not reply.result.replayed


def test_ids_stay_taken_across_a_restart(node: Node, stub: Stub) -> None:
    number = rq.prepared(stub, Stage.ACCEPTED)
    request = ledger_pb2.SuspendRequest(meta=rq.meta("before-restart"), case=number, reason="x")
    stub.Suspend(request)
    other = rq.prepared(stub, Stage.ACCEPTED)
    node.stop()
    stub = node.start()

    with pytest.raises(grpc.RpcError) as caught:
        stub.Suspend(
            ledger_pb2.SuspendRequest(meta=rq.meta("before-restart"), case=other, reason="x")
        )

    assert refused_as_reused(caught.value), caught.value
    assert stub.Suspend(request).result.replayed
