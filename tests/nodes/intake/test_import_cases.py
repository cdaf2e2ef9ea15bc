"""IntakeService.ImportCases: idempotent per record, checked whole before any
record is written, and authorized as Submit is."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from caseledger.nodes.bench import data
from caseledger.nodes.service.server import RunningNode
from caseledger.v1 import intake_pb2, intake_pb2_grpc, ledger_pb2_grpc
from tests.cli.clerk import running_node
from tests.pki import client_channel, shared_pki


@pytest.fixture
def node(tmp_path: Path) -> Iterator[RunningNode]:
    yield from running_node(tmp_path / "node")


@pytest.fixture
def intake(node: RunningNode) -> Iterator[intake_pb2_grpc.IntakeServiceStub]:
    with client_channel(node.address) as channel:
        ledger_pb2_grpc.LedgerServiceStub(channel).PublishItem(data.publication("publish"))
        yield intake_pb2_grpc.IntakeServiceStub(channel)


def record(record_id: str) -> intake_pb2.ImportRecord:
    submission = data.submission("")
    submission.meta.request_id = ""
    return intake_pb2.ImportRecord(record_id=record_id, submission=submission)


def events(node: RunningNode) -> int:
    return node.ledger.recorder.max_notification_id() or 0


def violations(error: grpc.RpcError) -> list[tuple[str, str]]:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    found: list[tuple[str, str]] = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            request = error_details_pb2.BadRequest()
            detail.Unpack(request)
            found.extend((v.field, v.description) for v in request.field_violations)
    return found


def test_each_record_becomes_a_case_and_its_events_are_counted(
    node: RunningNode, intake: intake_pb2_grpc.IntakeServiceStub
) -> None:
    before = events(node)
    response = intake.ImportCases(
        intake_pb2.ImportCasesRequest(records=[record(f"R{i}") for i in range(20)])
    )
    assert [r.record_id for r in response.records] == [f"R{i}" for i in range(20)]
    assert len({r.result.case_number for r in response.records}) == 20
    assert all(r.events == 2 and not r.result.replayed for r in response.records)
    assert events(node) - before == 40


def test_a_record_sent_again_is_answered_from_the_first_time_and_appends_nothing(
    node: RunningNode, intake: intake_pb2_grpc.IntakeServiceStub
) -> None:
    first = intake.ImportCases(intake_pb2.ImportCasesRequest(records=[record("R1")]))
    before = events(node)
    again = intake.ImportCases(intake_pb2.ImportCasesRequest(records=[record("R1"), record("R2")]))
    assert again.records[0].result.replayed
    assert again.records[0].events == 0
    assert again.records[0].result.case_number == first.records[0].result.case_number
    assert not again.records[1].result.replayed
    assert events(node) - before == 2


def test_a_record_id_reused_for_another_record_is_already_exists(
    intake: intake_pb2_grpc.IntakeServiceStub,
) -> None:
    intake.ImportCases(intake_pb2.ImportCasesRequest(records=[record("R1")]))
    changed = record("R1")
    changed.submission.applicant.name = "李四"
    with pytest.raises(grpc.RpcError) as refused:
        intake.ImportCases(intake_pb2.ImportCasesRequest(records=[changed]))
    assert refused.value.code() is grpc.StatusCode.ALREADY_EXISTS


def test_bad_records_are_named_by_index_and_nothing_of_the_call_is_written(
    node: RunningNode, intake: intake_pb2_grpc.IntakeServiceStub
) -> None:
    bad_id = record("R2")
    bad_id.submission.applicant.id_number = "370102199003071230"  # wrong check character
    unknown_item = record("R3")
    unknown_item.submission.item_code = unknown_item.submission.item_code[:-1] + "9"
    before = events(node)
    with pytest.raises(grpc.RpcError) as refused:
        intake.ImportCases(
            intake_pb2.ImportCasesRequest(
                records=[record("R1"), bad_id, unknown_item, record(""), record("R1")]
            )
        )
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    fields = [field for field, _ in violations(refused.value)]
    assert "records[1].submission.applicant.id_number" in fields
    assert "records[2].submission.item_code" in fields
    assert "records[3].record_id" in fields
    assert "records[4].record_id" in fields  # the same id twice in one call
    assert not any(field.startswith("records[0].") for field in fields)
    assert events(node) == before


def test_a_request_id_in_a_record_is_refused_the_record_id_sets_it(
    intake: intake_pb2_grpc.IntakeServiceStub,
) -> None:
    chosen = record("R1")
    chosen.submission.meta.request_id = "mine"
    with pytest.raises(grpc.RpcError) as refused:
        intake.ImportCases(intake_pb2.ImportCasesRequest(records=[chosen]))
    assert [f for f, _ in violations(refused.value)] == ["records[0].submission.meta.request_id"]


def _refusal(address: str, token: str | None) -> grpc.RpcError:
    pki = shared_pki()
    with pki.client().channel(address, token=token) as channel:
        stub = intake_pb2_grpc.IntakeServiceStub(channel)
        with pytest.raises(grpc.RpcError) as refused:
            stub.ImportCases(intake_pb2.ImportCasesRequest(records=[record("R1")]))
    return refused.value


def test_an_operator_whose_role_may_not_submit_is_permission_denied_and_nothing_written(
    node: RunningNode, intake: intake_pb2_grpc.IntakeServiceStub
) -> None:
    before = events(node)
    token = shared_pki().operator_token("王审查", ["reviewer"])
    refused = _refusal(node.address, token)
    assert refused.code() is grpc.StatusCode.PERMISSION_DENIED
    assert events(node) == before


def test_an_operator_of_another_division_is_permission_denied(
    node: RunningNode, intake: intake_pb2_grpc.IntakeServiceStub
) -> None:
    before = events(node)
    token = shared_pki().operator_token("外地收件", ["window_clerk"], division="370200000000")
    refused = _refusal(node.address, token)
    assert refused.code() is grpc.StatusCode.PERMISSION_DENIED
    assert events(node) == before


def test_a_call_without_a_token_is_unauthenticated(
    node: RunningNode, intake: intake_pb2_grpc.IntakeServiceStub
) -> None:
    before = events(node)
    refused = _refusal(node.address, None)
    assert refused.code() is grpc.StatusCode.UNAUTHENTICATED
    assert events(node) == before


def test_a_clerk_with_their_own_token_imports_under_their_own_name(
    node: RunningNode, intake: intake_pb2_grpc.IntakeServiceStub
) -> None:
    token = shared_pki().operator_token("李收件", ["window_clerk"])
    with shared_pki().client().channel(node.address, token=token) as channel:
        response = intake_pb2_grpc.IntakeServiceStub(channel).ImportCases(
            intake_pb2.ImportCasesRequest(records=[record("R1")])
        )
    first = node.ledger.trail(response.records[0].result.case_id)[0]
    assert (first.operator_id, first.operator_role) == ("李收件", "window_clerk")
