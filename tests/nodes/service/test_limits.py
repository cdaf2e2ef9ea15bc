"""The table of limits, at a real node: findings 1 to 4 of "No input can break a
node, a trail or replication", each reproduced and now refused.

1. A 3 MB applicant name or step opinion was taken; the case's trail then
   outgrew a gRPC message and so did the node's log batches.
2. A catalogue item of 2^31-1 working days was taken; its cases then failed to
   read (UNKNOWN "date value out of range").
3. StreamLog past the store's integer range failed (UNKNOWN), and a batch could
   outgrow what a follower takes.
4. Undecodable request bytes and bad UTF-8 were INTERNAL.

Every refusal is INVALID_ARGUMENT naming the field (BadRequest) and the bound,
with nothing written.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import grpc
import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status

from caseledger.ledger import limits
from caseledger.nodes.config import NodeConfig
from caseledger.nodes.service.boundary import bounded_fields
from caseledger.nodes.service.server import RunningNode, start
from caseledger.v1 import (
    audit_pb2,
    handoff_pb2,
    ledger_pb2,
    ledger_pb2_grpc,
    log_pb2,
    log_pb2_grpc,
    report_pb2,
    types_pb2,
)
from tests.nodes import requests as rq
from tests.nodes.requests import Stage
from tests.pki import node_channel, secured
from tests.samples import LIXIA, LIXIA_BUREAU

INVALID = grpc.StatusCode.INVALID_ARGUMENT
SERVICES = [
    ledger_pb2.DESCRIPTOR.services_by_name["LedgerService"],
    log_pb2.DESCRIPTOR.services_by_name["LogService"],
    handoff_pb2.DESCRIPTOR.services_by_name["HandoffService"],
    audit_pb2.DESCRIPTOR.services_by_name["AuditService"],
    report_pb2.DESCRIPTOR.services_by_name["ReportService"],
]
LONG_ITEM = f"{LIXIA_BUREAU}4370100200009"
"""A catalogue item of the longest limits the table allows."""
CONTROL = "\x01"
"""A character that JSON-escapes to six bytes: text of it is the largest to store."""


@dataclass(frozen=True)
class Served:
    node: RunningNode
    channel: grpc.Channel
    stub: ledger_pb2_grpc.LedgerServiceStub

    def written(self) -> int:
        return int(self.node.ledger.recorder.max_notification_id() or 0)

    def serving(self) -> bool:
        health = health_pb2_grpc.HealthStub(self.channel)
        reply = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    directory = {rq.JINAN: "127.0.0.1:9", LIXIA: "127.0.0.1:9"}
    path = tmp_path_factory.mktemp("limits")
    node = start(
        secured(NodeConfig(code=LIXIA, data_dir=path, allow_client_time=True)), (), directory
    )
    try:
        # The city calls (a node, above this one): every service answers it.
        with node_channel(node.address, rq.JINAN) as channel:
            stub = ledger_pb2_grpc.LedgerServiceStub(channel)
            stub.PublishItem(rq.publish_item())
            yield Served(node, channel, stub)
    finally:
        node.stop(grace=0)


def violations(error: grpc.RpcError) -> dict[str, str]:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    found: dict[str, str] = {}
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            found.update({v.field: v.description for v in bad.field_violations})
    return found


def raw_call(channel: grpc.Channel, method: str, data: bytes) -> object:
    """Call `method` with `data` as the request's bytes, as they are."""
    if method.endswith("/StreamLog"):
        return list(channel.unary_stream(method, None, None)(data, timeout=10))
    return channel.unary_unary(method, None, None)(data, timeout=10)


def reason(error: grpc.RpcError) -> str:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return str(info.reason)
    raise AssertionError("no ErrorInfo")


# -- the table -------------------------------------------------------------------


def _bounded() -> list[tuple[str, str, FieldDescriptor]]:
    return [
        (method.input_type.name, path, field)
        for service in SERVICES
        for method in service.methods
        for path, field in bounded_fields(method.input_type)
    ]


def test_every_field_of_every_request_has_its_own_entry_in_the_table() -> None:
    """No field is left to the table's defaults: strings and bytes have a length,
    lists a count, integers a range (enums, flags and timestamps are checked
    whole where they are read)."""
    tables = {
        FieldDescriptor.TYPE_STRING: limits.TEXT,
        FieldDescriptor.TYPE_BYTES: limits.BYTES,
    }
    missing = []
    for message, path, field in _bounded():
        if field.is_repeated and field.name not in limits.LISTS:
            missing.append(f"{message}.{path}: no list size")
        if field.message_type is not None:
            continue
        table = tables.get(field.type, limits.NUMBERS)
        if field.name not in table:
            missing.append(f"{message}.{path}: no bound")
    assert missing == []
    assert len(_bounded()) > 100


def test_the_table_names_no_field_the_api_does_not_have() -> None:
    names = {field.name for _, _, field in _bounded()}
    for table in (limits.TEXT, limits.BYTES, limits.LISTS, limits.NUMBERS):
        assert set(table) <= names


# -- 1. text too long ---------------------------------------------------------------


def test_finding_1_a_3mb_applicant_name_is_refused_by_its_bound(served: Served) -> None:
    request = rq.submit()
    request.applicant.name = "张" * 1_000_000  # 3 MB of UTF-8
    written = served.written()

    with pytest.raises(grpc.RpcError) as caught:
        served.stub.Submit(request, timeout=30)

    assert caught.value.code() is INVALID
    assert violations(caught.value) == {
        "applicant.name": "must be at most 200 characters long, got 1000000"
    }
    assert reason(caught.value) == "INVALID_FIELD"
    assert served.written() == written
    assert served.serving()


def test_finding_1_a_3mb_step_opinion_is_refused_and_the_case_still_replays(
    served: Served,
) -> None:
    number = rq.prepared(served.stub, Stage.ACCEPTED)
    request = rq.record_step(number)
    request.opinion = "同" * 1_000_000  # 3 MB of UTF-8
    written = served.written()

    with pytest.raises(grpc.RpcError) as caught:
        served.stub.RecordStep(request, timeout=30)

    assert caught.value.code() is INVALID
    assert list(violations(caught.value)) == ["opinion"]
    assert "at most 2000 characters" in violations(caught.value)["opinion"]
    assert served.written() == written
    at_the_bound = rq.record_step(number)
    at_the_bound.opinion = "同" * 2000
    served.stub.RecordStep(at_the_bound)
    trail = served.stub.ListCaseEvents(rq.list_case_events(number))
    assert [e.stage for e in trail.events][-1] == "StepRecorded"


def test_every_field_over_its_bound_is_named_at_once(served: Served) -> None:
    request = rq.submit()
    request.meta.request_id = "r" * 129
    request.applicant.address = "路" * 501
    request.applicant.phone = "1" * 21
    del request.materials[:]
    for index in range(101):
        request.materials.add(name=f"材料{index}", sha256=rq.CERTIFICATE_SHA256)
    written = served.written()

    with pytest.raises(grpc.RpcError) as caught:
        served.stub.Submit(request)

    assert violations(caught.value) == {
        "meta.request_id": "must be at most 128 characters long, got 129",
        "applicant.address": "must be at most 500 characters long, got 501",
        "applicant.phone": "must be at most 20 characters long, got 21",
        "materials": "must have at most 100 entries, got 101",
    }
    assert served.written() == written


def test_the_largest_events_the_bounds_allow_stay_under_the_largest_event(
    served: Served,
) -> None:
    """Every text at its bound, in the character that stores longest."""
    terms = rq.item_terms(LONG_ITEM)
    terms.name = CONTROL * 200
    terms.required_materials[:] = [CONTROL * 200] * 100
    served.stub.PublishItem(ledger_pb2.PublishItemRequest(terms=terms, meta=rq.publisher()))
    request = rq.submit()
    request.item_code = LONG_ITEM
    request.applicant.name = "😀" * 200
    request.applicant.address = "😀" * 500
    del request.materials[:]
    for _ in range(100):
        request.materials.add(name=CONTROL * 200, sha256=rq.CERTIFICATE_SHA256)
    number = served.stub.Submit(request).result.case_number
    refusal = rq.refuse_acceptance(number)
    refusal.meta.request_id = CONTROL * 128
    refusal.meta.operator.id = CONTROL * 64
    refusal.meta.operator.role = CONTROL * 64
    refusal.notice_no = CONTROL * 100
    refusal.reason = CONTROL * 2000
    refusal.legal_basis = CONTROL * 2000
    served.stub.RefuseAcceptance(refusal)

    case_id = served.node.ledger.case(number).id
    sizes = [len(e.state) for e in served.node.ledger.stored_trail(case_id)]
    assert len(sizes) == 2
    assert max(sizes) > 100_000  # the submission: 100 materials of 1,200 stored bytes each
    assert max(sizes) <= limits.MAX_EVENT_BYTES


# -- 2. working days ----------------------------------------------------------------


def test_finding_2_limits_of_2_31_working_days_are_refused(served: Served) -> None:
    terms = rq.item_terms(f"{LIXIA_BUREAU}4370100200008")
    terms.statutory_days = 2**31 - 1
    terms.promised_days = 2**31 - 1
    written = served.written()

    with pytest.raises(grpc.RpcError) as caught:
        served.stub.PublishItem(ledger_pb2.PublishItemRequest(terms=terms, meta=rq.publisher()))

    assert caught.value.code() is INVALID
    assert violations(caught.value) == {
        "terms.statutory_days": "must be at most 3650 working days, got 2147483647",
        "terms.promised_days": "must be at most 3650 working days, got 2147483647",
    }
    assert served.written() == written


def test_finding_2_a_case_of_the_longest_limits_reads(served: Served) -> None:
    terms = rq.item_terms(f"{LIXIA_BUREAU}4370100200007")
    terms.statutory_days = limits.MAX_WORKING_DAYS
    terms.promised_days = limits.MAX_WORKING_DAYS
    served.stub.PublishItem(ledger_pb2.PublishItemRequest(terms=terms, meta=rq.publisher()))
    request = rq.submit()
    request.item_code = terms.implementation_code
    number = served.stub.Submit(request).result.case_number
    served.stub.Accept(rq.accept(number))

    view = served.stub.GetCase(rq.get_case(number)).case
    events = served.stub.ListCaseEvents(rq.list_case_events(number)).events

    assert view.status == types_pb2.CASE_STATUS_ACCEPTED
    assert view.deadline.statutory_due > "2040-01-01"
    assert [e.stage for e in events] == ["Submitted", "Accepted"]


# -- 3. the log stream --------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [("after", 2**63 - 1), ("limit", 2**63 - 1), ("after", limits.MAX_POSITION + 1)],
)
def test_finding_3_a_position_beyond_the_store_is_refused(
    served: Served, field: str, value: int
) -> None:
    stub = log_pb2_grpc.LogServiceStub(served.channel)
    request = log_pb2.StreamLogRequest()
    setattr(request, field, value)

    with pytest.raises(grpc.RpcError) as caught:
        list(stub.StreamLog(request, timeout=10))

    assert caught.value.code() is INVALID
    assert violations(caught.value) == {
        field: f"must be at most {limits.MAX_POSITION}"
        + (" records" if field == "limit" else "")
        + f", got {value}"
    }


def test_finding_3_the_largest_position_and_limit_are_served(served: Served) -> None:
    stub = log_pb2_grpc.LogServiceStub(served.channel)
    beyond = log_pb2.StreamLogRequest(after=limits.MAX_POSITION)
    everything = log_pb2.StreamLogRequest(limit=limits.MAX_POSITION)

    assert list(stub.StreamLog(beyond, timeout=10)) == []
    records = [r for batch in stub.StreamLog(everything, timeout=30) for r in batch.records]
    assert [r.position for r in records] == list(range(1, served.written() + 1))


def test_finding_3_log_batches_are_cut_by_bytes_for_a_follower(served: Served) -> None:
    """Forty submissions of 130 KB each: 5 MB of log, more than a follower takes
    in one message (4 MiB by default); cut at 1 MiB, it is read whole."""
    request = rq.submit()
    first = served.written() + 1
    for _ in range(40):
        request = rq.submit()
        del request.materials[:]
        for _ in range(100):
            request.materials.add(name=CONTROL * 200, sha256=rq.CERTIFICATE_SHA256)
        served.stub.Submit(request)
    stub = log_pb2_grpc.LogServiceStub(served.channel)

    batches = list(stub.StreamLog(log_pb2.StreamLogRequest(after=first - 1), timeout=60))

    states = [sum(len(r.state) for r in batch.records) for batch in batches]
    assert sum(states) > 5_000_000
    assert max(b.ByteSize() for b in batches) < limits.MAX_BATCH_BYTES + 64 * 1024
    positions = [r.position for batch in batches for r in batch.records]
    assert positions == list(range(first, served.written() + 1))


# -- 4. undecodable requests ----------------------------------------------------------


def _methods() -> list[str]:
    return [
        f"/{service.full_name}/{method.name}" for service in SERVICES for method in service.methods
    ]


def _length_delimited(number: int, body: bytes) -> bytes:
    assert number < 16  # a one-byte key
    assert len(body) < 128  # a one-byte length
    return bytes([number << 3 | 2, len(body)]) + body


def _bad_utf8(descriptor: Descriptor) -> bytes | None:
    """Request bytes whose first string field (nested if need be) is not UTF-8."""
    for field in descriptor.fields:
        if field.type == FieldDescriptor.TYPE_STRING:
            return _length_delimited(field.number, b"ok\xc3\x28")
    for field in descriptor.fields:
        if field.message_type is not None:
            inner = _bad_utf8(field.message_type)
            if inner is not None:
                return _length_delimited(field.number, inner)
    return None


def _undecodable() -> list[tuple[str, bytes]]:
    cases = []
    for service in SERVICES:
        for method in service.methods:
            path = f"/{service.full_name}/{method.name}"
            cases.append((path, b"\xff\xff\xff\xff"))  # a tag that never ends
            cases.append((path, b"\x0a\x05ab"))  # a length past the end
            bad = _bad_utf8(method.input_type)
            if bad is not None:
                cases.append((path, bad))
    return cases


@pytest.mark.parametrize(("method", "data"), _undecodable())
def test_finding_4_undecodable_bytes_and_bad_utf8_are_invalid_argument(
    served: Served, method: str, data: bytes
) -> None:
    written = served.written()
    with pytest.raises(grpc.RpcError) as caught:
        raw_call(served.channel, method, data)

    assert caught.value.code() is INVALID, caught.value
    assert reason(caught.value) == "UNDECODABLE_REQUEST"
    assert served.written() == written
    assert served.serving()


def test_finding_4_bad_utf8_in_a_submission_names_the_expected_message(served: Served) -> None:
    good = rq.submit().SerializeToString()
    # The applicant's name (field 2 of Applicant, inside field 4) as bytes that are no UTF-8.
    applicant = b"\x12\x02\xc3\x28"
    bad = good + b"\x22" + bytes([len(applicant)]) + applicant
    written = served.written()

    with pytest.raises(grpc.RpcError) as caught:
        raw_call(served.channel, "/caseledger.v1.LedgerService/Submit", bad)

    assert caught.value.code() is INVALID
    assert reason(caught.value) == "UNDECODABLE_REQUEST"
    assert "caseledger.v1.SubmitRequest" in (caught.value.details() or "")
    assert served.written() == written


def test_a_request_over_the_largest_request_is_turned_away(served: Served) -> None:
    request = ledger_pb2.PingRequest(payload=b"x" * (limits.MAX_REQUEST_BYTES + 1))
    with pytest.raises(grpc.RpcError) as caught:
        served.stub.Ping(request, timeout=30)
    assert caught.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert served.serving()


def test_an_unknown_method_is_unimplemented(served: Served) -> None:
    for name in ("/caseledger.v1.LedgerService/Nope", "/no.such.Service/Call"):
        with pytest.raises(grpc.RpcError) as caught:
            raw_call(served.channel, name, b"")
        assert caught.value.code() is grpc.StatusCode.UNIMPLEMENTED
    assert served.serving()
