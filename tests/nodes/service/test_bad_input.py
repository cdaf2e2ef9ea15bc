"""Bad input for every field of every request: the precise status, and nothing written.

One table row per (RPC, field, kind of badness). Each row takes a well-formed
request from `tests.nodes.requests`, sets one bad value and expects
INVALID_ARGUMENT whose google.rpc.BadRequest names exactly that field by its
proto path (NOT_FOUND for a well-formed reference to an unknown case), with
ErrorInfo in domain `caseledger.v1`, and the store unchanged.

Decisions the table rests on:
- The case is brought to a status in which the command is legal (`RPCS`), so
  the field check is what answers: a bad field on a command that is also
  illegal in the case's status may be refused for either reason, and only the
  field is under test here.
- Values that are bad only because of the case's history (concluding as
  补正不来 while handling, a second rating) are illegal transitions
  (FAILED_PRECONDITION), not bad fields, and are not in this table.
- A case reference is a case id (UUID) or a case number of at most 50
  characters without spaces (docs/domain.md: no national format); anything else
  well-formed that names no case is NOT_FOUND.
- Free text that may be empty (a step's opinion, a resume note, a decision
  number, a conclusion note, the applicant's address) and flags have no bad
  value: they are listed in `FREE` so the coverage test still sees them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from caseledger.nodes.config import NodeConfig
from caseledger.nodes.service.server import RunningNode, start
from caseledger.v1 import ledger_pb2, ledger_pb2_grpc
from caseledger.v1 import types_pb2 as t
from tests.nodes import requests as rq
from tests.nodes.requests import Stage
from tests.pki import client_channel, secured
from tests.samples import CITIZEN_ID, FOOD_LICENCE, LIXIA, LIXIA_BUREAU

Stub = ledger_pb2_grpc.LedgerServiceStub
INVALID = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND

SPARE_ITEM = f"{LIXIA_BUREAU}4370100200002"  # PublishItem rows aim here, never at FOOD_LICENCE
UNPUBLISHED_ITEM = f"{LIXIA_BUREAU}4370100200003"
UNKNOWN_NUMBER = f"{LIXIA}20260302999999"
UNKNOWN_ID = "5b0f6f0e-8c1d-4a51-9a43-0d6c3f0b7e21"


def _other(char: str, alphabet: str) -> str:
    return next(c for c in alphabet if c != char)


WRONG_CHECK_CITIZEN_ID = CITIZEN_ID[:17] + _other(CITIZEN_ID[17], "10X98765432")
FEB_30_CITIZEN_ID = CITIZEN_ID[:10] + "0230" + CITIZEN_ID[14:]
WRONG_CHECK_ITEM = (
    FOOD_LICENCE[:17] + _other(FOOD_LICENCE[17], "0123456789ABCDEFGH") + FOOD_LICENCE[18:]
)
WRONG_CHECK_LICENCE = rq.LICENCE_ID[:-1] + _other(rq.LICENCE_ID[-1], "0123456789ABCDEF")
BAD_LEVEL_ITEM = SPARE_ITEM[:18] + "8" + SPARE_ITEM[19:]
SHORT_VERSION_LICENCE = rq.LICENCE_ID.replace(".001.", ".01.")
SHA_UPPER = rq.CERTIFICATE_SHA256.upper()
LONG_AGO = Timestamp(seconds=1_577_836_800)  # 2020-01-01, before any case here
NANOS_OUT_OF_RANGE = Timestamp(seconds=1_772_413_200, nanos=2_000_000_000)
AFTER_YEAR_9999 = Timestamp(seconds=253_402_300_800)


class _Cleared:
    """The field is unset (a message or list cleared)."""


CLEARED = _Cleared()


@dataclass(frozen=True)
class Rpc:
    """An RPC, its well-formed request, and how far a case must be for it to be legal."""

    name: str
    build: Callable[[str], Message]
    stage: Stage

    @property
    def fields(self) -> frozenset[str]:
        method = ledger_pb2.DESCRIPTOR.services_by_name["LedgerService"].methods_by_name[self.name]
        return frozenset(f.name for f in method.input_type.fields)


def _search() -> ledger_pb2.SearchCasesRequest:
    return ledger_pb2.SearchCasesRequest(
        applicant_type=t.APPLICANT_TYPE_NATURAL_PERSON, id_number=CITIZEN_ID
    )


RPCS = {
    rpc.name: rpc
    for rpc in (
        Rpc("PublishItem", lambda _: rq.publish_item(SPARE_ITEM, client_time=True), Stage.NO_CASE),
        Rpc("GetItem", lambda _: rq.get_item(), Stage.NO_CASE),
        Rpc("EraseSubject", lambda _: rq.erase_subject(), Stage.NO_CASE),
        Rpc("Submit", lambda _: rq.submit(), Stage.NO_CASE),
        Rpc("PassPreReview", rq.pass_pre_review, Stage.ONLINE),
        Rpc("ReturnPreReview", rq.return_pre_review, Stage.ONLINE),
        Rpc("RequestCorrection", rq.request_correction, Stage.SUBMITTED),
        Rpc("SupplementMaterials", rq.supplement_materials, Stage.AWAITING_CORRECTION),
        Rpc("Accept", rq.accept, Stage.SUBMITTED),
        Rpc("RefuseAcceptance", rq.refuse_acceptance, Stage.SUBMITTED),
        Rpc("RecordStep", rq.record_step, Stage.ACCEPTED),
        Rpc("StartSpecialProcedure", rq.start_special_procedure, Stage.ACCEPTED),
        Rpc("EndSpecialProcedure", rq.end_special_procedure, Stage.SPECIAL_PROCEDURE),
        Rpc("Suspend", rq.suspend, Stage.ACCEPTED),
        Rpc("Resume", rq.resume, Stage.SUSPENDED),
        Rpc("ExtendDeadline", rq.extend_deadline, Stage.ACCEPTED),
        Rpc("Conclude", rq.conclude, Stage.ACCEPTED),
        Rpc("IssueCertificate", rq.issue_certificate, Stage.APPROVED),
        Rpc("DispatchByMail", rq.dispatch_by_mail, Stage.DISAPPROVED),
        Rpc("CollectAtWindow", rq.collect_at_window, Stage.DISAPPROVED),
        Rpc("ConfirmDelivery", rq.confirm_delivery, Stage.DISPATCHED),
        Rpc("Withdraw", rq.withdraw, Stage.SUBMITTED),
        Rpc("Rate", rq.rate, Stage.DISAPPROVED),
        Rpc("RecordRectification", rq.record_rectification, Stage.RATED_BADLY),
        Rpc("Transfer", rq.transfer, Stage.ACCEPTED),
        Rpc("GetCase", rq.get_case, Stage.SUBMITTED),
        Rpc("ListCaseEvents", rq.list_case_events, Stage.SUBMITTED),
        Rpc("ListQuarantined", lambda _: ledger_pb2.ListQuarantinedRequest(), Stage.NO_CASE),
        Rpc("ListItems", lambda _: ledger_pb2.ListItemsRequest(), Stage.NO_CASE),
        Rpc("SearchCases", lambda _: _search(), Stage.NO_CASE),
    )
}
COMMANDS = [rpc for rpc in RPCS.values() if "meta" in rpc.fields]


# -- the table -------------------------------------------------------------------


@dataclass(frozen=True)
class Bad:
    """One bad value in an otherwise well-formed request."""

    rpc: str
    path: str  # the field set to `value`, as a proto path
    what: str  # what is wrong with it, for the test id
    value: object
    says: str  # a fragment the field violation's description must contain
    also: Mapping[str, object] = field(default_factory=dict)  # other fields it needs set
    reported: tuple[str, ...] = ()  # the violation paths, if not just `path`
    code: grpc.StatusCode = INVALID

    @property
    def id(self) -> str:
        return f"{self.rpc}-{self.path}-{self.what}"

    @property
    def paths(self) -> set[str]:
        return set(self.reported or (self.path,))


def _meta_rows(rpc: Rpc) -> list[Bad]:
    empty = "must not be empty"
    rows = [
        Bad(rpc.name, "meta.request_id", "empty", "", empty),
        Bad(rpc.name, "meta.request_id", "blank", "   ", empty),
        Bad(rpc.name, "meta.operator.id", "empty", "", empty),
        Bad(rpc.name, "meta.operator.role", "blank", " ", empty),
        Bad(rpc.name, "meta", "missing", CLEARED, empty,
            reported=("meta.request_id", "meta.operator.id", "meta.operator.role")),
        Bad(rpc.name, "meta.occurred_at", "nanos-out-of-range", NANOS_OUT_OF_RANGE, "valid"),
        Bad(rpc.name, "meta.occurred_at", "after-year-9999", AFTER_YEAR_9999, "valid"),
        Bad(rpc.name, "meta.expected_version", "negative", -1, "must not be negative"),
    ]  # fmt: skip
    if "case" in rpc.fields:
        rows.append(Bad(rpc.name, "meta.occurred_at", "before-last-event", LONG_AGO, "before"))
    return rows


def _case_rows(rpc: Rpc) -> list[Bad]:
    ref = "case id or case number"
    return [
        Bad(rpc.name, "case", "empty", "", ref),
        Bad(rpc.name, "case", "blank", "  ", ref),
        Bad(rpc.name, "case", "padded", f" {UNKNOWN_NUMBER} ", "spaces"),
        Bad(rpc.name, "case", "too-long", "3" * 51, "50 characters"),
        Bad(rpc.name, "case", "unknown-number", UNKNOWN_NUMBER, "", code=NOT_FOUND),
        Bad(rpc.name, "case", "unknown-id", UNKNOWN_ID, "", code=NOT_FOUND),
    ]


def _field_rows() -> list[Bad]:
    empty, unset, unknown = "must not be empty", "must be set", "unknown"
    sha, date, check = "64 lower-case hex digits", "YYYY-MM-DD", "check character"
    detail = "comment or a chosen detail"
    bad_rating = {"satisfaction": t.SATISFACTION_DISSATISFIED, "details": CLEARED}
    return [
        Bad("PublishItem", "terms.implementation_code", "empty", "", empty),
        Bad("PublishItem", "terms.implementation_code", "check-char", WRONG_CHECK_ITEM, check),
        Bad("PublishItem", "terms.implementation_code", "level-8", BAD_LEVEL_ITEM, "level"),
        Bad("PublishItem", "terms.name", "blank", "  ", empty),
        Bad("PublishItem", "terms.item_type", "unspecified", 0, unset),
        Bad("PublishItem", "terms.item_type", "unknown", 55, unknown),
        Bad("PublishItem", "terms.exercising_level", "unspecified", 0, unset),
        Bad("PublishItem", "terms.exercising_level", "unknown", 8, unknown),
        Bad("PublishItem", "terms.case_type", "unspecified", 0, unset),
        Bad("PublishItem", "terms.case_type", "unknown", 3, unknown),
        Bad("PublishItem", "terms.statutory_days", "negative", -1, "must not be negative"),
        Bad("PublishItem", "terms.promised_days", "negative", -5, "must not be negative"),
        Bad("PublishItem", "terms.promised_days", "over-statutory", 21, "must not exceed"),
        Bad("PublishItem", "terms.promised_days", "immediate-not-zero", 10, "immediate",
            also={"terms.case_type": t.CASE_TYPE_IMMEDIATE}),
        Bad("PublishItem", "terms.required_materials[0]", "blank", " ", empty),
        Bad("GetItem", "implementation_code", "empty", "", empty),
        Bad("GetItem", "implementation_code", "check-char", WRONG_CHECK_ITEM, check),
        Bad("GetItem", "implementation_code", "too-short", FOOD_LICENCE[:30], "31 characters"),
        Bad("Submit", "item_code", "empty", "", empty),
        Bad("Submit", "item_code", "check-char", WRONG_CHECK_ITEM, check),
        Bad("Submit", "item_code", "unpublished", UNPUBLISHED_ITEM, "no catalogue item"),
        Bad("Submit", "channel", "unspecified", 0, unset),
        Bad("Submit", "channel", "unknown", 7, unknown),
        Bad("Submit", "applicant.type", "unspecified", 0, unset),
        Bad("Submit", "applicant.type", "unknown", 7, unknown),
        Bad("Submit", "applicant.name", "blank", " ", empty),
        Bad("Submit", "applicant.id_number", "empty", "", "18 characters"),
        Bad("Submit", "applicant.id_number", "check-digit", WRONG_CHECK_CITIZEN_ID, check),
        Bad("Submit", "applicant.id_number", "born-feb-30", FEB_30_CITIZEN_ID, "not a real date"),
        Bad("Submit", "applicant.id_number", "credit-code-of-a-person", LIXIA_BUREAU, "digits"),
        Bad("Submit", "applicant.id_number", "citizen-id-of-a-firm", CITIZEN_ID, check,
            also={"applicant.type": t.APPLICANT_TYPE_ENTERPRISE_LEGAL_PERSON}),
        Bad("Submit", "applicant.phone", "letters", "1380013800a", "7 to 13 digits"),
        Bad("Submit", "applicant.phone", "too-short", "12345", "7 to 13 digits"),
        Bad("Submit", "materials", "none", CLEARED, "at least one material"),
        Bad("Submit", "materials[0].name", "blank", " ", empty),
        Bad("Submit", "materials[0].sha256", "upper-case", SHA_UPPER, sha),
        Bad("Submit", "materials[0].sha256", "63-digits", rq.CERTIFICATE_SHA256[:63], sha),
        Bad("PassPreReview", "opinion", "empty", "", empty),
        Bad("ReturnPreReview", "reason", "blank", "  ", empty),
        Bad("RequestCorrection", "materials", "none", CLEARED, "at least one material"),
        Bad("RequestCorrection", "materials[0].name", "empty", "", empty),
        Bad("RequestCorrection", "materials[0].reason", "blank", " ", empty),
        Bad("SupplementMaterials", "materials", "none", CLEARED, "at least one material"),
        Bad("SupplementMaterials", "materials[0].name", "empty", "", empty),
        Bad("SupplementMaterials", "materials[0].sha256", "empty", "", sha),
        Bad("Accept", "notice_no", "empty", "", empty),
        Bad("RefuseAcceptance", "notice_no", "blank", " ", empty),
        Bad("RefuseAcceptance", "reason", "empty", "", empty),
        Bad("RefuseAcceptance", "legal_basis", "empty", "", empty),
        Bad("RecordStep", "step", "empty", "", empty),
        Bad("RecordStep", "handler", "blank", " ", empty),
        Bad("RecordStep", "action", "unspecified", 0, unset),
        Bad("RecordStep", "action", "unknown", 5, unknown),
        Bad("StartSpecialProcedure", "kind", "unspecified", 0, unset),
        Bad("StartSpecialProcedure", "kind", "unknown", 9, unknown),
        Bad("StartSpecialProcedure", "reason", "empty", "", empty),
        Bad("EndSpecialProcedure", "outcome", "empty", "", empty),
        Bad("Suspend", "reason", "empty", "", empty),
        Bad("ExtendDeadline", "approved_by", "empty", "", empty),
        Bad("ExtendDeadline", "reason", "blank", " ", empty),
        Bad("Conclude", "result", "unspecified", 0, unset),
        Bad("Conclude", "result", "unknown", 8, unknown),
        Bad("IssueCertificate", "licence_id", "empty", "", "must start with"),
        Bad("IssueCertificate", "licence_id", "check-char", WRONG_CHECK_LICENCE, check),
        Bad("IssueCertificate", "licence_id", "version-01", SHORT_VERSION_LICENCE, "3 digits"),
        Bad("IssueCertificate", "file_sha256", "empty", "", sha),
        Bad("IssueCertificate", "file_sha256", "upper-case", SHA_UPPER, sha),
        Bad("IssueCertificate", "valid_from", "empty", "", date),
        Bad("IssueCertificate", "valid_from", "slashes", "2026/03/20", date),
        Bad("IssueCertificate", "valid_from", "no-such-day", "2026-02-30", date),
        Bad("IssueCertificate", "valid_until", "basic-format", "20310319", date),
        Bad("IssueCertificate", "valid_until", "before-from", "2026-03-19", "before valid_from"),
        Bad("DispatchByMail", "carrier", "empty", "", empty),
        Bad("DispatchByMail", "tracking_no", "blank", " ", empty),
        Bad("DispatchByMail", "address", "empty", "", empty),
        Bad("CollectAtWindow", "signer", "blank", "  ", empty),
        Bad("ConfirmDelivery", "signer", "empty", "", empty),
        Bad("ConfirmDelivery", "received_on", "empty", "", date),
        Bad("ConfirmDelivery", "received_on", "iso-week-date", "2026-W13-3", date),
        Bad("Withdraw", "reason", "empty", "", empty),
        Bad("Rate", "satisfaction", "unspecified", 0, unset),
        Bad("Rate", "satisfaction", "unknown", 6, unknown),
        Bad("Rate", "channel", "unspecified", 0, unset),
        Bad("Rate", "channel", "unknown", 8, unknown),
        Bad("Rate", "comment", "bad-rating-none", "", detail, also=bad_rating),
        Bad("Rate", "comment", "bad-rating-blank", "  ", detail, also=bad_rating),
        Bad("Rate", "details[0]", "blank", " ", empty,
            also={"satisfaction": t.SATISFACTION_VERY_DISSATISFIED, "comment": ""}),
        Bad("RecordRectification", "response", "empty", "", empty),
        Bad("RecordRectification", "fix", "blank", " ", empty),
        Bad("EraseSubject", "applicant_type", "unspecified", 0, unset),
        Bad("EraseSubject", "applicant_type", "unknown", 8, unknown),
        Bad("EraseSubject", "id_number", "empty", "", "18 characters"),
        Bad("EraseSubject", "id_number", "check-char", WRONG_CHECK_CITIZEN_ID, check),
        Bad("EraseSubject", "reason", "blank", "  ", empty),
        Bad("SearchCases", "applicant_type", "unspecified", 0, unset),
        Bad("SearchCases", "applicant_type", "unknown", 8, unknown),
        Bad("SearchCases", "id_number", "empty", "", "18 characters"),
        Bad("SearchCases", "id_number", "check-char", WRONG_CHECK_CITIZEN_ID, check),
        Bad("SearchCases", "page_size", "negative", -1, "must not be negative"),
        Bad("SearchCases", "page_size", "too-large", 1001, "at most 1000"),
        Bad("Transfer", "target", "empty", "", "6 or 12 digits"),
        Bad("Transfer", "target", "too-short", "37010", "6 or 12 digits"),
        Bad("Transfer", "target", "not-in-network", "370124000000", "is in the network"),
        Bad("Transfer", "target", "itself", LIXIA, "already owned"),
        Bad("Transfer", "reason", "empty", "", empty),
    ]  # fmt: skip


TABLE = (
    [row for rpc in COMMANDS for row in _meta_rows(rpc)]
    + [row for rpc in RPCS.values() if "case" in rpc.fields for row in _case_rows(rpc)]
    + _field_rows()
)

FREE = {
    ("PublishItem", "terms.issues_certificate"),
    ("Submit", "applicant.address"),
    ("RecordStep", "opinion"),
    ("Resume", "note"),
    ("Conclude", "decision_no"),
    ("Conclude", "note"),
}
"""Fields that take any value: optional free text and flags."""


# -- setting a value by path, and reading the status -----------------------------


def _follow(message: Any, step: str) -> Any:
    name, _, index = step.partition("[")
    value = getattr(message, name)
    return value[int(index.rstrip("]"))] if index else value


def spoil(request: Message, path: str, value: object) -> None:
    *steps, last = path.split(".")
    target: Any = request
    for step in steps:
        target = _follow(target, step)
    name, _, index = last.partition("[")
    if isinstance(value, _Cleared):
        target.ClearField(name)
    elif index:
        getattr(target, name)[int(index.rstrip("]"))] = value
    elif isinstance(value, Message):
        getattr(target, name).CopyFrom(value)
    else:
        setattr(target, name, value)


def details(error: grpc.RpcError) -> tuple[error_details_pb2.ErrorInfo, dict[str, str]]:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None, "the status carries no rich details"
    info, violations = None, {}
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            violations = {v.field: v.description for v in bad.field_violations}
    assert info is not None, "every error carries ErrorInfo"
    return info, violations


# -- nodes -----------------------------------------------------------------------


@dataclass(frozen=True)
class Served:
    node: RunningNode
    stub: Stub

    def written(self) -> int:
        return int(self.node.ledger.recorder.max_notification_id() or 0)


def _serve(path: Path, *, client_time: bool) -> Iterator[Served]:
    # The city is in the network (its address is never called: no transfer succeeds here).
    directory = {rq.JINAN: "127.0.0.1:9", LIXIA: "127.0.0.1:9"}
    node = start(
        secured(NodeConfig(code=LIXIA, data_dir=path, allow_client_time=client_time)), (), directory
    )
    try:
        with client_channel(node.address) as channel:
            stub = ledger_pb2_grpc.LedgerServiceStub(channel)
            stub.PublishItem(rq.publish_item())
            yield Served(node, stub)
    finally:
        node.stop(grace=0)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One node for the module (client time allowed); every test opens its own case."""
    yield from _serve(tmp_path_factory.mktemp("client-time"), client_time=True)


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A node that keeps its own time, as every production node does."""
    yield from _serve(tmp_path_factory.mktemp("own-time"), client_time=False)


# -- the tests -------------------------------------------------------------------


@pytest.mark.parametrize("bad", TABLE, ids=lambda bad: bad.id)
def test_a_bad_field_is_refused_by_its_path_and_writes_nothing(served: Served, bad: Bad) -> None:
    """On a fresh case in a status where the command is legal, so that the
    field, not the transition, is what the node refuses."""
    rpc = RPCS[bad.rpc]
    number = "" if rpc.stage is Stage.NO_CASE else rq.prepared(served.stub, rpc.stage)
    request = rpc.build(number)
    for path, value in {**bad.also, bad.path: bad.value}.items():
        spoil(request, path, value)
    written = served.written()
    version = served.node.ledger.case(number).version if number else 0

    with pytest.raises(grpc.RpcError) as caught:
        getattr(served.stub, rpc.name)(request)

    assert caught.value.code() is bad.code, caught.value.details()
    info, violations = details(caught.value)
    assert info.domain == "caseledger.v1"
    if bad.code is INVALID:
        assert info.reason == "INVALID_FIELD"
        assert set(violations) == bad.paths
        assert all(bad.says in description for description in violations.values()), violations
    else:
        assert info.reason == "CASE_NOT_FOUND"
    assert served.written() == written
    if number:
        assert served.node.ledger.case(number).version == version


def test_every_bad_field_of_a_submission_is_reported_at_once(served: Served) -> None:
    request = rq.submit()
    request.meta.operator.id = ""
    request.item_code = WRONG_CHECK_ITEM
    request.channel = t.SUBMISSION_CHANNEL_UNSPECIFIED
    request.applicant.name = " "
    request.applicant.id_number = WRONG_CHECK_CITIZEN_ID
    request.applicant.phone = "phone"
    request.materials[0].sha256 = SHA_UPPER
    request.materials.add(name="", sha256=rq.CERTIFICATE_SHA256)
    written = served.written()

    with pytest.raises(grpc.RpcError) as caught:
        served.stub.Submit(request)

    assert caught.value.code() is INVALID
    assert set(details(caught.value)[1]) == {
        "meta.operator.id",
        "item_code",
        "channel",
        "applicant.name",
        "applicant.id_number",
        "applicant.phone",
        "materials[0].sha256",
        "materials[1].name",
    }
    assert served.written() == written


def test_an_unknown_item_and_a_bad_applicant_are_reported_together(served: Served) -> None:
    """Both are found only past the request's own checks (catalogue, identity rules)."""
    request = rq.submit()
    request.item_code = UNPUBLISHED_ITEM
    request.applicant.id_number = WRONG_CHECK_CITIZEN_ID

    with pytest.raises(grpc.RpcError) as caught:
        served.stub.Submit(request)

    assert set(details(caught.value)[1]) == {"item_code", "applicant.id_number"}


def test_a_bad_case_reference_and_a_bad_meta_are_reported_together(served: Served) -> None:
    request = rq.accept(" ")
    request.meta.request_id = ""

    with pytest.raises(grpc.RpcError) as caught:
        served.stub.Accept(request)

    assert set(details(caught.value)[1]) == {"case", "meta.request_id"}


def test_a_refused_submission_seals_nothing_for_a_new_applicant(served: Served) -> None:
    """The applicant's key is made only once the whole submission is good."""
    newcomer = "11010519491231002" + "X"
    request = rq.submit()
    request.applicant.id_number = newcomer
    request.materials[0].sha256 = SHA_UPPER
    keys = served.node.ledger.keys

    with pytest.raises(grpc.RpcError) as caught:
        served.stub.Submit(request)

    assert list(details(caught.value)[1]) == ["materials[0].sha256"]
    assert served.node.keys.key_for(keys.subject_of(newcomer)) is None


def test_an_unknown_item_is_not_found(served: Served) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        served.stub.GetItem(ledger_pb2.GetItemRequest(implementation_code=UNPUBLISHED_ITEM))
    assert caught.value.code() is NOT_FOUND


@pytest.mark.parametrize("rpc", COMMANDS, ids=lambda rpc: f"{rpc.name}-meta.occurred_at-set")
def test_a_client_time_on_a_node_that_keeps_its_own_is_invalid(strict: Served, rpc: Rpc) -> None:
    number = (
        "" if rpc.stage is Stage.NO_CASE else rq.prepared(strict.stub, rpc.stage, client_time=False)
    )
    request: Any = rpc.build(number)
    assert request.meta.HasField("occurred_at")
    written = strict.written()

    with pytest.raises(grpc.RpcError) as caught:
        getattr(strict.stub, rpc.name)(request)

    assert caught.value.code() is INVALID
    info, violations = details(caught.value)
    assert info.domain == "caseledger.v1"
    assert list(violations) == ["meta.occurred_at"]
    assert "leave it unset" in violations["meta.occurred_at"]
    assert strict.written() == written


def test_a_node_that_keeps_its_own_time_takes_commands_without_one(strict: Served) -> None:
    number = rq.prepared(strict.stub, Stage.ACCEPTED, client_time=False)
    assert strict.node.ledger.case(number).version == 2


def _leaf_paths(message: Descriptor, prefix: str = "") -> Iterator[str]:
    for f in message.fields:
        path = prefix + f.name + ("[0]" if f.is_repeated else "")
        if f.message_type is not None and f.message_type.full_name != "google.protobuf.Timestamp":
            yield from _leaf_paths(f.message_type, path + ".")
        else:
            yield path


def test_the_table_has_a_bad_value_for_every_field_of_every_request() -> None:
    service = ledger_pb2.DESCRIPTOR.services_by_name["LedgerService"]
    covered = {(bad.rpc, bad.path) for bad in TABLE} | FREE
    every = {
        (method.name, path)
        for method in service.methods
        if method.name != "Ping"
        for path in _leaf_paths(method.input_type)
    }
    assert every - covered == set()
    assert set(RPCS) == {method.name for method in service.methods} - {"Ping"}
