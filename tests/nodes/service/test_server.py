"""A real node over gRPC: lifecycle, retries, rich errors, health and reflection,
with its events in SQLite and in Cassandra (`store_kind`)."""

from __future__ import annotations

import itertools

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status

from caseledger.ledger.trail.canonical import GENESIS
from caseledger.nodes.service.server import RunningNode
from caseledger.v1 import ledger_pb2, ledger_pb2_grpc, types_pb2
from tests.nodes import requests as rq
from tests.pki import client_channel

Stub = ledger_pb2_grpc.LedgerServiceStub


def published(stub: Stub) -> None:
    stub.PublishItem(ledger_pb2.PublishItemRequest(terms=rq.item_terms(), meta=rq.publisher()))


def field_violations(error: grpc.RpcError) -> dict[str, str]:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            return {v.field: v.description for v in bad.field_violations}
    return {}


def test_a_case_goes_from_submission_to_rating_over_grpc(stub: Stub) -> None:
    published(stub)
    number = stub.Submit(rq.submit()).result.case_number
    stub.Accept(
        ledger_pb2.AcceptRequest(meta=rq.meta(), case=number, notice_no="历下受〔2026〕12号")
    )
    stub.RecordStep(
        ledger_pb2.RecordStepRequest(
            meta=rq.meta(),
            case=number,
            step="审批",
            handler="李四",
            opinion="同意",
            action=types_pb2.STEP_ACTION_PASS,
        )
    )
    stub.Conclude(
        ledger_pb2.ConcludeRequest(
            meta=rq.meta(),
            case=number,
            result=types_pb2.CONCLUSION_RESULT_DISAPPROVED,
            decision_no="历下不许〔2026〕3号",
            note="场所不符合要求",
        )
    )
    stub.CollectAtWindow(
        ledger_pb2.CollectAtWindowRequest(meta=rq.meta(), case=number, signer="张三")
    )
    stub.Rate(
        ledger_pb2.RateRequest(
            meta=rq.meta(),
            case=number,
            satisfaction=types_pb2.SATISFACTION_SATISFIED,
            channel=types_pb2.RATING_CHANNEL_HALL_TABLET,
        )
    )
    view = stub.GetCase(ledger_pb2.GetCaseRequest(case=number)).case
    assert view.status == types_pb2.CASE_STATUS_CONCLUDED
    assert view.applicant_name == "张*"
    assert view.delivery == "delivered"
    events = stub.ListCaseEvents(ledger_pb2.ListCaseEventsRequest(case=number)).events
    assert [e.stage for e in events] == [
        "Submitted",
        "Accepted",
        "StepRecorded",
        "Concluded",
        "CollectedAtWindow",
        "Rated",
    ]
    assert events[0].prev_hash == GENESIS
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(events))


def test_a_retried_submission_returns_the_first_result_and_appends_nothing(
    stub: Stub, node: RunningNode
) -> None:
    published(stub)
    request = rq.submit("window-7-0001")
    first = stub.Submit(request).result
    before = node.ledger.recorder.max_notification_id()
    again = stub.Submit(request).result
    assert (again.case_number, again.version, again.replayed) == (first.case_number, 1, True)
    assert node.ledger.recorder.max_notification_id() == before


def test_a_retried_command_appends_once(stub: Stub) -> None:
    published(stub)
    number = stub.Submit(rq.submit()).result.case_number
    accept = ledger_pb2.AcceptRequest(
        meta=rq.meta("accept-1"), case=number, notice_no="受〔2026〕1号"
    )
    assert stub.Accept(accept).result.replayed is False
    assert stub.Accept(accept).result.replayed is True
    events = stub.ListCaseEvents(ledger_pb2.ListCaseEventsRequest(case=number)).events
    assert [e.stage for e in events] == ["Submitted", "Accepted"]


def test_a_request_id_reused_for_other_content_is_already_exists(stub: Stub) -> None:
    published(stub)
    number = stub.Submit(rq.submit()).result.case_number
    stub.Accept(ledger_pb2.AcceptRequest(meta=rq.meta("same-id"), case=number, notice_no="受1号"))
    with pytest.raises(grpc.RpcError) as caught:
        stub.Accept(
            ledger_pb2.AcceptRequest(meta=rq.meta("same-id"), case=number, notice_no="受2号")
        )
    assert caught.value.code() is grpc.StatusCode.ALREADY_EXISTS


def test_an_illegal_transition_is_failed_precondition_and_writes_nothing(
    stub: Stub, node: RunningNode
) -> None:
    published(stub)
    number = stub.Submit(rq.submit()).result.case_number
    before = node.ledger.recorder.max_notification_id()
    with pytest.raises(grpc.RpcError) as caught:
        stub.Rate(
            ledger_pb2.RateRequest(
                meta=rq.meta(),
                case=number,
                satisfaction=types_pb2.SATISFACTION_SATISFIED,
                channel=types_pb2.RATING_CHANNEL_PC,
            )
        )
    assert caught.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert node.ledger.recorder.max_notification_id() == before


def test_an_unknown_case_is_not_found(stub: Stub) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        stub.GetCase(ledger_pb2.GetCaseRequest(case="370102000000202603020099999"))
    assert caught.value.code() is grpc.StatusCode.NOT_FOUND


def test_a_stale_expected_version_is_aborted(stub: Stub) -> None:
    published(stub)
    number = stub.Submit(rq.submit()).result.case_number
    meta = rq.meta()
    meta.expected_version = 5
    with pytest.raises(grpc.RpcError) as caught:
        stub.Accept(ledger_pb2.AcceptRequest(meta=meta, case=number, notice_no="受1号"))
    assert caught.value.code() is grpc.StatusCode.ABORTED


def test_health_and_reflection_are_served(node: RunningNode) -> None:
    with client_channel(node.address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        reply = health.Check(health_pb2.HealthCheckRequest(service="caseledger.v1.LedgerService"))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

        reflect = reflection_pb2_grpc.ServerReflectionStub(channel)
        answers = reflect.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")])
        )
        names = {s.name for a in answers for s in a.list_services_response.service}
    assert {"caseledger.v1.LedgerService", "caseledger.v1.LogService"} <= names


def test_the_node_keeps_its_events_in_the_store_its_id_names(
    node: RunningNode, store_kind: str
) -> None:
    # SQLite: the store whose logs can be followed (the node's views follow both).
    expected = {
        "sqlite": ["SubscribingMerkleLogRecorder", "SubscribingSQLiteProcessRecorder"],
        "cassandra": ["CassandraApplicationRecorder", "CassandraProcessRecorder"],
    }[store_kind]
    assert node.ledger.received is not None
    recorders = (node.ledger.recorder, node.ledger.received.recorder)
    assert [type(r).__name__ for r in recorders] == expected


def test_erasing_a_subject_hides_their_name_and_breaks_no_chain(stub: Stub) -> None:
    published(stub)
    number = stub.Submit(rq.submit()).result.case_number
    before = stub.ListCaseEvents(ledger_pb2.ListCaseEventsRequest(case=number)).events
    assert stub.GetCase(ledger_pb2.GetCaseRequest(case=number)).case.applicant_name == "张*"
    erased = stub.EraseSubject(rq.erase_subject())
    assert erased.subject
    assert stub.GetCase(ledger_pb2.GetCaseRequest(case=number)).case.applicant_name == "[erased]"
    after = stub.ListCaseEvents(ledger_pb2.ListCaseEventsRequest(case=number)).events
    assert [(e.hash, e.hashed_form) for e in after] == [(e.hash, e.hashed_form) for e in before]
    with pytest.raises(grpc.RpcError) as caught:
        stub.EraseSubject(rq.erase_subject())
    assert caught.value.code() is grpc.StatusCode.NOT_FOUND
