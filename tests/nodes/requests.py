"""Well-formed requests for the node tests; each test breaks one thing.

Every request of LedgerService that takes input has a builder here, legal
for a case in the status the command expects; `prepared` brings a fresh case
to such a status over gRPC.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from enum import Enum
from functools import partial
from typing import Any

from google.protobuf.message import Message

from caseledger.ledger.codes.identifiers import CreditCode, ELicenceId
from caseledger.v1 import ledger_pb2, ledger_pb2_grpc, types_pb2
from tests.samples import CITIZEN_ID, FOOD_LICENCE, LIXIA_BUREAU, material

JINAN = "370100000000"  # 济南市, the city above Lixia

_serial = itertools.count(1)
_START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)

LICENCE_ID = str(ELicenceId.issue("JY", CreditCode(LIXIA_BUREAU), "23701020000001", 1))
"""A checksum-valid electronic licence id (电子证照标识) issued by the Lixia bureau."""

CERTIFICATE_SHA256 = hashlib.sha256(b"food business licence JY23701020000001").hexdigest()


def meta(
    request_id: str | None = None, role: str = "window_clerk", *, client_time: bool = True
) -> types_pb2.CommandMeta:
    """A command's meta; `client_time` stamps it with a strictly later time
    than every earlier one, for nodes that take the client's time."""
    n = next(_serial)
    built = types_pb2.CommandMeta(
        request_id=request_id or f"req-{n}",
        operator=types_pb2.Operator(id="clerk-007", role=role),
    )
    if client_time:
        built.occurred_at.FromDatetime(_START + timedelta(minutes=n))
    return built


def item_terms(implementation_code: str = FOOD_LICENCE) -> ledger_pb2.ItemTerms:
    return ledger_pb2.ItemTerms(
        implementation_code=implementation_code,
        name="食品经营许可证核发",
        item_type=types_pb2.ITEM_TYPE_LICENSING,
        exercising_level=types_pb2.EXERCISING_LEVEL_COUNTY,
        case_type=types_pb2.CASE_TYPE_PROMISED,
        statutory_days=20,
        promised_days=10,
        required_materials=["食品经营许可申请书"],
        issues_certificate=True,
    )


def publish_item(
    implementation_code: str = FOOD_LICENCE, *, client_time: bool = False
) -> ledger_pb2.PublishItemRequest:
    return ledger_pb2.PublishItemRequest(
        terms=item_terms(implementation_code), meta=publisher(client_time=client_time)
    )


def publisher(*, client_time: bool = False) -> types_pb2.CommandMeta:
    """The meta of a catalogue officer's publication; by default the node keeps the time."""
    return meta(role="catalogue_admin", client_time=client_time)


def erase_subject(id_number: str = CITIZEN_ID) -> ledger_pb2.EraseSubjectRequest:
    """擦除 of the sample applicant, at the request of the data subject."""
    return ledger_pb2.EraseSubjectRequest(
        meta=meta(role="data_protection_officer"),
        applicant_type=types_pb2.APPLICANT_TYPE_NATURAL_PERSON,
        id_number=id_number,
        reason="申请人依法要求删除个人信息",
    )


def get_item() -> ledger_pb2.GetItemRequest:
    return ledger_pb2.GetItemRequest(implementation_code=FOOD_LICENCE)


def submit(
    request_id: str | None = None,
    channel: types_pb2.SubmissionChannel.ValueType = types_pb2.SUBMISSION_CHANNEL_WINDOW,
    *,
    client_time: bool = True,
) -> ledger_pb2.SubmitRequest:
    m = material()
    return ledger_pb2.SubmitRequest(
        meta=meta(request_id, client_time=client_time),
        item_code=FOOD_LICENCE,
        channel=channel,
        applicant=ledger_pb2.Applicant(
            type=types_pb2.APPLICANT_TYPE_NATURAL_PERSON,
            name="张三",
            id_number=CITIZEN_ID,
            phone="13800138000",
            address="济南市历下区解放路1号",
        ),
        materials=[types_pb2.Material(name=m.name, sha256=m.sha256)],
    )


# -- before acceptance ---------------------------------------------------------


def pass_pre_review(case: str) -> ledger_pb2.PassPreReviewRequest:
    """For an online submission (网上申报) awaiting pre-review."""
    return ledger_pb2.PassPreReviewRequest(meta=meta(), case=case, opinion="材料齐全")


def return_pre_review(case: str) -> ledger_pb2.ReturnPreReviewRequest:
    """For an online submission (网上申报) awaiting pre-review."""
    return ledger_pb2.ReturnPreReviewRequest(meta=meta(), case=case, reason="申请书未签字")


def request_correction(case: str) -> ledger_pb2.RequestCorrectionRequest:
    return ledger_pb2.RequestCorrectionRequest(
        meta=meta(),
        case=case,
        materials=[ledger_pb2.MaterialToCorrect(name="营业执照复印件", reason="未提交")],
    )


def supplement_materials(case: str) -> ledger_pb2.SupplementMaterialsRequest:
    """For a case awaiting correction (补齐补正中)."""
    m = material("营业执照复印件")
    return ledger_pb2.SupplementMaterialsRequest(
        meta=meta(), case=case, materials=[types_pb2.Material(name=m.name, sha256=m.sha256)]
    )


def accept(case: str) -> ledger_pb2.AcceptRequest:
    return ledger_pb2.AcceptRequest(meta=meta(), case=case, notice_no="历下受〔2026〕12号")


def refuse_acceptance(case: str) -> ledger_pb2.RefuseAcceptanceRequest:
    return ledger_pb2.RefuseAcceptanceRequest(
        meta=meta(),
        case=case,
        notice_no="历下不受〔2026〕2号",
        reason="不属于本机关职权范围",
        legal_basis="《中华人民共和国行政许可法》第三十二条",
    )


def withdraw(case: str) -> ledger_pb2.WithdrawRequest:
    return ledger_pb2.WithdrawRequest(meta=meta(role="applicant"), case=case, reason="不再需要")


# -- processing ----------------------------------------------------------------


def record_step(
    case: str, action: types_pb2.StepAction.ValueType = types_pb2.STEP_ACTION_PASS
) -> ledger_pb2.RecordStepRequest:
    return ledger_pb2.RecordStepRequest(
        meta=meta(role="reviewer"),
        case=case,
        step="审查",
        handler="李四",
        opinion="符合条件",
        action=action,
    )


def start_special_procedure(case: str) -> ledger_pb2.StartSpecialProcedureRequest:
    return ledger_pb2.StartSpecialProcedureRequest(
        meta=meta(role="reviewer"),
        case=case,
        kind=types_pb2.SPECIAL_PROCEDURE_KIND_SITE_CHECK,
        reason="经营场所需实地核查",
    )


def end_special_procedure(case: str) -> ledger_pb2.EndSpecialProcedureRequest:
    return ledger_pb2.EndSpecialProcedureRequest(
        meta=meta(role="reviewer"), case=case, outcome="场所符合要求"
    )


def suspend(case: str) -> ledger_pb2.SuspendRequest:
    return ledger_pb2.SuspendRequest(meta=meta(role="reviewer"), case=case, reason="申请人要求暂缓")


def resume(case: str) -> ledger_pb2.ResumeRequest:
    return ledger_pb2.ResumeRequest(meta=meta(role="reviewer"), case=case, note="申请人已确认")


def extend_deadline(case: str) -> ledger_pb2.ExtendDeadlineRequest:
    return ledger_pb2.ExtendDeadlineRequest(
        meta=meta(role="agency_head"), case=case, approved_by="王局长", reason="案情复杂"
    )


def conclude(
    case: str,
    result: types_pb2.ConclusionResult.ValueType = types_pb2.CONCLUSION_RESULT_APPROVED,
) -> ledger_pb2.ConcludeRequest:
    return ledger_pb2.ConcludeRequest(
        meta=meta(role="approver"),
        case=case,
        result=result,
        decision_no="历下许〔2026〕7号",
        note="准予许可",
    )


# -- after the decision --------------------------------------------------------


def issue_certificate(case: str) -> ledger_pb2.IssueCertificateRequest:
    """For an approved case (准予) whose certificate is not issued yet."""
    return ledger_pb2.IssueCertificateRequest(
        meta=meta(),
        case=case,
        licence_id=LICENCE_ID,
        file_sha256=CERTIFICATE_SHA256,
        valid_from="2026-03-20",
        valid_until="2031-03-19",
    )


def dispatch_by_mail(case: str) -> ledger_pb2.DispatchByMailRequest:
    return ledger_pb2.DispatchByMailRequest(
        meta=meta(),
        case=case,
        carrier="中国邮政EMS",
        tracking_no="1187654321098",
        address="济南市历下区解放路1号",
    )


def collect_at_window(case: str) -> ledger_pb2.CollectAtWindowRequest:
    return ledger_pb2.CollectAtWindowRequest(meta=meta(), case=case, signer="张三")


def confirm_delivery(case: str) -> ledger_pb2.ConfirmDeliveryRequest:
    """For a result dispatched by mail (邮寄送达), signed for on the day it is
    recorded: a receipt may be neither in the future nor before the dispatch."""
    stamped = meta()
    return ledger_pb2.ConfirmDeliveryRequest(
        meta=stamped, case=case, signer="张三", received_on=_day_of(stamped).isoformat()
    )


def _day_of(stamped: types_pb2.CommandMeta) -> date:
    """The Beijing day of a command: its client time, or now on a node's own clock."""
    moment = (
        stamped.occurred_at.ToDatetime(tzinfo=UTC)
        if stamped.HasField("occurred_at")
        else datetime.now(UTC)
    )
    return moment.astimezone(timezone(timedelta(hours=8))).date()


def rate(
    case: str,
    satisfaction: types_pb2.Satisfaction.ValueType = types_pb2.SATISFACTION_SATISFIED,
) -> ledger_pb2.RateRequest:
    return ledger_pb2.RateRequest(
        meta=meta(role="applicant"),
        case=case,
        satisfaction=satisfaction,
        channel=types_pb2.RATING_CHANNEL_MOBILE,
        comment="办事效率高",
        details=["服务态度好"],
    )


def record_rectification(case: str) -> ledger_pb2.RecordRectificationRequest:
    """For a case with a bad rating (差评) awaiting rectification."""
    return ledger_pb2.RecordRectificationRequest(
        meta=meta(role="agency_head"),
        case=case,
        response="已向申请人致歉并说明情况",
        fix="增设窗口引导员",
    )


def transfer(case: str) -> ledger_pb2.TransferRequest:
    """转报: hand the case up to the city."""
    return ledger_pb2.TransferRequest(meta=meta(), case=case, target=JINAN, reason="需市级审批")


# -- reads ---------------------------------------------------------------------


def get_case(case: str) -> ledger_pb2.GetCaseRequest:
    return ledger_pb2.GetCaseRequest(case=case)


def list_case_events(case: str) -> ledger_pb2.ListCaseEventsRequest:
    return ledger_pb2.ListCaseEventsRequest(case=case)


# -- cases brought to a status ---------------------------------------------------


class Stage(Enum):
    """How far a fresh case has been taken, and so which commands are legal on it."""

    NO_CASE = "no case"
    SUBMITTED = "submitted at the window"
    ONLINE = "submitted online, awaiting pre-review"
    AWAITING_CORRECTION = "awaiting correction (补齐补正中)"
    ACCEPTED = "accepted"
    SPECIAL_PROCEDURE = "in a special procedure"
    SUSPENDED = "suspended"
    APPROVED = "concluded as approved, no certificate yet"
    DISAPPROVED = "concluded as disapproved"
    DISPATCHED = "disapproval dispatched by mail"
    RATED_BADLY = "rated dissatisfied (差评)"


_ROUTE: dict[Stage, tuple[Stage, str, Callable[[str], Message]]] = {
    Stage.AWAITING_CORRECTION: (Stage.SUBMITTED, "RequestCorrection", request_correction),
    Stage.ACCEPTED: (Stage.SUBMITTED, "Accept", accept),
    Stage.SPECIAL_PROCEDURE: (Stage.ACCEPTED, "StartSpecialProcedure", start_special_procedure),
    Stage.SUSPENDED: (Stage.ACCEPTED, "Suspend", suspend),
    Stage.APPROVED: (Stage.ACCEPTED, "Conclude", conclude),
    Stage.DISAPPROVED: (
        Stage.ACCEPTED,
        "Conclude",
        partial(conclude, result=types_pb2.CONCLUSION_RESULT_DISAPPROVED),
    ),
    Stage.DISPATCHED: (Stage.DISAPPROVED, "DispatchByMail", dispatch_by_mail),
    Stage.RATED_BADLY: (
        Stage.DISAPPROVED,
        "Rate",
        partial(rate, satisfaction=types_pb2.SATISFACTION_DISSATISFIED),
    ),
}


def prepared(
    stub: ledger_pb2_grpc.LedgerServiceStub, stage: Stage, *, client_time: bool = True
) -> str:
    """The number of a fresh case brought to `stage` (the catalogue item published)."""
    if stage in (Stage.SUBMITTED, Stage.ONLINE):
        online = stage is Stage.ONLINE
        channel = (
            types_pb2.SUBMISSION_CHANNEL_ONLINE if online else types_pb2.SUBMISSION_CHANNEL_WINDOW
        )
        return str(stub.Submit(submit(channel=channel, client_time=client_time)).result.case_number)
    earlier, rpc, build = _ROUTE[stage]
    number = prepared(stub, earlier, client_time=client_time)
    command: Any = build(number)
    if not client_time:
        command.meta.ClearField("occurred_at")
    getattr(stub, rpc)(command)
    return number
