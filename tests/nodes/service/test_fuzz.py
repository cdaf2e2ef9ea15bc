"""Fuzzing every RPC of a real node with requests built from the message descriptors.

For each RPC of LedgerService, LogService and HandoffService, hypothesis
writes request bytes field by field from the request's descriptor: random
values of every field (nested and repeated ones too), text at, just over and
far over its bound in characters that encode long, lists one entry too long,
enum numbers outside their tables, integers at the edges of int32 and int64,
bytes that are not UTF-8 where a string belongs, stray fields and garbage.
Most requests start from a well-formed one for a case in a status where the
command is legal (with a fresh request id), so the fuzzed fields reach the
ledger's own checks and not just the first missing field.

Whatever comes in, the node:
- answers with a status it means: never UNKNOWN or INTERNAL (an unhandled
  exception), and never DEADLINE_EXCEEDED (a hang);
- writes nothing when it refuses: its log head and its received store stay put;
- stays SERVING.

`CASELEDGER_FUZZ_EXAMPLES` sets the examples per RPC (default 60; the suite
takes about half a minute).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caseledger.ledger import limits
from caseledger.nodes.config import NodeConfig
from caseledger.nodes.service.server import RunningNode, start
from caseledger.v1 import (
    audit_pb2,
    handoff_pb2,
    handoff_pb2_grpc,
    ledger_pb2,
    ledger_pb2_grpc,
    log_pb2,
    types_pb2,
)
from tests.nodes import requests as rq
from tests.nodes.requests import Stage
from tests.pki import secured, shared_pki
from tests.samples import CITIZEN_ID, LIXIA

EXAMPLES = int(os.environ.get("CASELEDGER_FUZZ_EXAMPLES", "60"))
CALL_SECONDS = 15.0
SERVICES = [
    ledger_pb2.DESCRIPTOR.services_by_name["LedgerService"],
    log_pb2.DESCRIPTOR.services_by_name["LogService"],
    handoff_pb2.DESCRIPTOR.services_by_name["HandoffService"],
    audit_pb2.DESCRIPTOR.services_by_name["AuditService"],
]
METHODS = [method for service in SERVICES for method in service.methods]
NEVER = {
    grpc.StatusCode.UNKNOWN: "an unhandled exception",
    grpc.StatusCode.INTERNAL: "an internal error",
    grpc.StatusCode.DEADLINE_EXCEEDED: "no answer in time",
}

# The well-formed request each LedgerService RPC starts from, and the status
# its case is brought to first.
WELL_FORMED: dict[str, tuple[Callable[[str], Message], Stage]] = {
    "Ping": (lambda _: ledger_pb2.PingRequest(payload=b"ping"), Stage.NO_CASE),
    "PublishItem": (lambda _: rq.publish_item(), Stage.NO_CASE),
    "GetItem": (lambda _: rq.get_item(), Stage.NO_CASE),
    "EraseSubject": (lambda _: rq.erase_subject(), Stage.NO_CASE),
    "Submit": (lambda _: rq.submit(), Stage.NO_CASE),
    "PassPreReview": (rq.pass_pre_review, Stage.ONLINE),
    "ReturnPreReview": (rq.return_pre_review, Stage.ONLINE),
    "RequestCorrection": (rq.request_correction, Stage.SUBMITTED),
    "SupplementMaterials": (rq.supplement_materials, Stage.AWAITING_CORRECTION),
    "Accept": (rq.accept, Stage.SUBMITTED),
    "RefuseAcceptance": (rq.refuse_acceptance, Stage.SUBMITTED),
    "RecordStep": (rq.record_step, Stage.ACCEPTED),
    "StartSpecialProcedure": (rq.start_special_procedure, Stage.ACCEPTED),
    "EndSpecialProcedure": (rq.end_special_procedure, Stage.SPECIAL_PROCEDURE),
    "Suspend": (rq.suspend, Stage.ACCEPTED),
    "Resume": (rq.resume, Stage.SUSPENDED),
    "ExtendDeadline": (rq.extend_deadline, Stage.ACCEPTED),
    "Conclude": (rq.conclude, Stage.ACCEPTED),
    "IssueCertificate": (rq.issue_certificate, Stage.APPROVED),
    "DispatchByMail": (rq.dispatch_by_mail, Stage.DISAPPROVED),
    "CollectAtWindow": (rq.collect_at_window, Stage.DISAPPROVED),
    "ConfirmDelivery": (rq.confirm_delivery, Stage.DISPATCHED),
    "Withdraw": (rq.withdraw, Stage.SUBMITTED),
    "Rate": (rq.rate, Stage.DISAPPROVED),
    "RecordRectification": (rq.record_rectification, Stage.RATED_BADLY),
    "Transfer": (rq.transfer, Stage.ACCEPTED),
    "GetCase": (rq.get_case, Stage.SUBMITTED),
    "ListCaseEvents": (rq.list_case_events, Stage.SUBMITTED),
    "ListQuarantined": (lambda _: ledger_pb2.ListQuarantinedRequest(), Stage.NO_CASE),
    "ListItems": (lambda _: ledger_pb2.ListItemsRequest(), Stage.NO_CASE),
    "SearchCases": (
        lambda _: ledger_pb2.SearchCasesRequest(
            applicant_type=types_pb2.APPLICANT_TYPE_NATURAL_PERSON, id_number=CITIZEN_ID
        ),
        Stage.NO_CASE,
    ),
}


# -- the wire format, by hand (so a string field can hold bytes that are no UTF-8) --


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative numbers as protobuf writes them: ten bytes
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        if not value:
            out.append(low)
            return bytes(out)
        out.append(low | 0x80)


def key(number: int, wire_type: int) -> bytes:
    return varint(number << 3 | wire_type)


def delimited(number: int, body: bytes) -> bytes:
    return key(number, 2) + varint(len(body)) + body


# -- field values ----------------------------------------------------------------------

EDGES = [
    0, 1, -1, 2, 5, 8, 100, 101, 3650, 3651,
    2**31 - 1, -(2**31), 2**31, 2**32, 2**32 + 7,
    limits.MAX_POSITION, limits.MAX_POSITION + 1, 2**63 - 1, -(2**63), 2**64 - 1,
]  # fmt: skip
INTEGERS = st.one_of(st.sampled_from(EDGES), st.integers(min_value=-(2**63), max_value=2**64 - 1))
LONG_CHARS = ["a", "张", "😀", "\x01", "\x00", " ", "\u202e"]


def text_values(limit: int) -> st.SearchStrategy[bytes]:
    sized = st.tuples(
        st.sampled_from([limit, limit + 1, 3 * limit + 7, 300_000]), st.sampled_from(LONG_CHARS)
    ).map(lambda pair: (pair[1] * pair[0]).encode())
    return st.one_of(
        st.text(max_size=24).map(str.encode),
        sized,
        st.binary(max_size=24),  # mostly not UTF-8
        st.just(b"ok\xc3\x28"),  # certainly not
    )


def bytes_values(limit: int) -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=64), st.sampled_from([limit, limit + 1]).map(lambda n: b"\x07" * n)
    )


_VARINTS = frozenset(
    {FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_ENUM,
     FieldDescriptor.TYPE_BOOL}
)  # fmt: skip


def entry(field: FieldDescriptor, depth: int) -> st.SearchStrategy[bytes]:
    """One occurrence of `field` on the wire (a repeated one: one entry, or a list too long)."""
    number = field.number
    one: st.SearchStrategy[bytes]
    if field.message_type is not None:
        body = message_bytes(field.message_type, depth + 1) if depth < 3 else st.just(b"")
        one = body.map(lambda b: delimited(number, b))
    elif field.type == FieldDescriptor.TYPE_STRING:
        limit = limits.TEXT.get(field.name, limits.DEFAULT_TEXT)
        one = text_values(limit).map(lambda b: delimited(number, b))
    elif field.type == FieldDescriptor.TYPE_BYTES:
        limit = limits.BYTES.get(field.name, limits.DEFAULT_BYTES)
        one = bytes_values(limit).map(lambda b: delimited(number, b))
    else:  # integers, enums and flags are all varints
        one = INTEGERS.map(lambda v: key(number, 0) + varint(v))
    if not field.is_repeated:
        return one
    # One entry too many, each as small as it gets.
    smallest = key(number, 0) + varint(0) if field.type in _VARINTS else delimited(number, b"")
    too_many = smallest * (limits.LISTS.get(field.name, limits.DEFAULT_LIST) + 1)
    return st.one_of(one, one, st.just(too_many))


def _stray(number: int, wire_type: int, body: bytes) -> bytes:
    length = varint(len(body)) if wire_type == 2 else b""
    return key(number, wire_type) + length + body


STRAY = st.builds(
    _stray,
    st.integers(min_value=1, max_value=40),
    st.sampled_from([0, 1, 2, 5]),
    st.binary(max_size=9),
)
"""A field of any number and wire type, its value maybe cut short."""


def message_bytes(descriptor: Descriptor, depth: int = 0) -> st.SearchStrategy[bytes]:
    fields = [entry(field, depth) for field in descriptor.fields]
    choices = st.one_of(*fields, STRAY) if fields else STRAY
    return st.lists(choices, max_size=5).map(b"".join)


# -- the node ---------------------------------------------------------------------------

_ids = itertools.count(1)


@dataclass
class Fuzzed:
    node: RunningNode
    channel: grpc.Channel
    bases: dict[str, bytes]

    def written(self) -> tuple[int, int]:
        received = self.node.ledger.received
        assert received is not None
        return (
            int(self.node.ledger.recorder.max_notification_id() or 0),
            int(received.recorder.max_notification_id() or 0),
        )

    def serving(self) -> bool:
        health = health_pb2_grpc.HealthStub(self.channel)
        reply = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=CALL_SECONDS)
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def _bases(node: RunningNode, channel: grpc.Channel) -> dict[str, bytes]:
    stub = ledger_pb2_grpc.LedgerServiceStub(channel)
    stub.PublishItem(rq.publish_item())
    bases = {}
    for name, (build, stage) in WELL_FORMED.items():
        number = "" if stage is Stage.NO_CASE else rq.prepared(stub, stage)
        bases[name] = build(number).SerializeToString()
    number = rq.prepared(stub, Stage.ACCEPTED)
    case_id = str(node.ledger.case(number).id)
    trail = handoff_pb2_grpc.HandoffServiceStub(channel).ExportTrail(
        handoff_pb2.ExportTrailRequest(case_id=case_id)
    )
    bases["StreamLog"] = log_pb2.StreamLogRequest(after=1, limit=50).SerializeToString()
    bases["GetCheckpoint"] = audit_pb2.GetCheckpointRequest(fresh=True).SerializeToString()
    bases["GetInclusionProof"] = audit_pb2.GetInclusionProofRequest(
        position=1, tree_size=2
    ).SerializeToString()
    bases["GetConsistencyProof"] = audit_pb2.GetConsistencyProofRequest(
        first=1, second=2
    ).SerializeToString()
    bases["ExportTrail"] = handoff_pb2.ExportTrailRequest(case_id=case_id).SerializeToString()
    bases["OfferCase"] = handoff_pb2.OfferCaseRequest(
        case_id=case_id, from_node=LIXIA, from_address="127.0.0.1:9"
    ).SerializeToString()
    bases["ExportSubjectKeys"] = handoff_pb2.ExportSubjectKeysRequest(
        case_id=case_id
    ).SerializeToString()
    bases["EraseSubjectKey"] = handoff_pb2.EraseSubjectKeyRequest(
        subject="0" * 32, from_node=rq.JINAN
    ).SerializeToString()
    bases["GetWitnessed"] = audit_pb2.GetWitnessedRequest(node=LIXIA).SerializeToString()
    bases["ListForks"] = audit_pb2.ListForksRequest(node=LIXIA).SerializeToString()
    bases["DeliverTrail"] = handoff_pb2.DeliverTrailRequest(
        from_node=rq.JINAN, case_id=case_id, records=trail.records
    ).SerializeToString()
    return bases


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    """One node for the module; the city is in its network but never answers."""
    path: Path = tmp_path_factory.mktemp("fuzz")
    directory = {rq.JINAN: "127.0.0.1:9"}
    node = start(
        secured(NodeConfig(code=LIXIA, data_dir=path, allow_client_time=True)), (), directory
    )
    directory[LIXIA] = node.address  # an offer from itself is pulled from itself
    try:
        # The city calls: a node, above this one, so every service answers it
        # (a client is turned away from the log and handoff services at the gate).
        city = shared_pki().node(path / "city", rq.JINAN)
        with city.channel(node.address) as channel:
            yield Fuzzed(node, channel, _bases(node, channel))
    finally:
        node.stop(grace=0)


def request_bytes(method: MethodDescriptor, base: bytes) -> st.SearchStrategy[bytes]:
    """A well-formed request with fields overwritten and added (protobuf keeps the
    last of a field), or none at all; then maybe garbage."""
    fields = method.input_type.fields_by_name
    fresh = b""
    if "meta" in fields:
        # A fresh request id, so a command that succeeds does not make the next
        # ones retries of it; the fuzzed fields come after and may replace it.
        fresh = delimited(fields["meta"].number, delimited(1, f"fuzz-{next(_ids)}".encode()))
    start_from = st.sampled_from([base + fresh, base + fresh, b""])
    tail = st.one_of(st.just(b""), st.just(b""), st.binary(min_size=1, max_size=8))
    never_follow = b""
    if method.name == "StreamLog":
        never_follow = key(fields["follow"].number, 0) + varint(0)  # a stream that ends
    return st.tuples(start_from, message_bytes(method.input_type), tail).map(
        lambda parts: parts[0] + parts[1] + never_follow + parts[2]
    )


def call(
    channel: grpc.Channel, method: MethodDescriptor, data: bytes
) -> tuple[grpc.StatusCode, str]:
    """`data` sent as the request's bytes; the status code and its message."""
    path = f"/{method.containing_service.full_name}/{method.name}"
    try:
        if method.server_streaming:
            for _ in channel.unary_stream(path, None, None)(data, timeout=CALL_SECONDS):
                pass
        else:
            channel.unary_unary(path, None, None)(data, timeout=CALL_SECONDS)
    except grpc.RpcError as error:
        failed: grpc.Call = error  # type: ignore[assignment]  # every call error is a Call
        return failed.code(), str(failed.details())
    return grpc.StatusCode.OK, ""


@pytest.mark.parametrize("method", METHODS, ids=lambda m: f"{m.containing_service.name}.{m.name}")
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
@given(data=st.data())
def test_no_request_breaks_the_node(
    fuzzed: Fuzzed, method: MethodDescriptor, data: st.DataObject
) -> None:
    request = data.draw(request_bytes(method, fuzzed.bases[method.name]), label="request")
    written = fuzzed.written()

    code, details = call(fuzzed.channel, method, request)

    assert code not in NEVER, f"{NEVER[code]}: {details}"
    if code is not grpc.StatusCode.OK:
        assert fuzzed.written() == written, f"refused ({code.name}: {details}) but wrote"
    assert fuzzed.serving()
