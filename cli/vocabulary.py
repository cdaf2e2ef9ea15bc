"""The words the command line accepts for each `caseledger.v1` enum, and shows back.

Every enum value has a spelling for the command line (`natural-person`), the
Chinese label an operator reads (自然人) and, where a national table numbers
it, its code (GB/T 39046: item type `01`, satisfaction `1` = 非常满意). An
option accepts any of the three; output shows the label.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import click

from caseledger.v1 import types_pb2 as pb


@dataclass(frozen=True)
class Term:
    """One value of an enum: command-line name, proto number, label, table code."""

    name: str
    value: int
    label: str
    code: str = ""
    offered: bool = True
    """False for values only nodes produce (转报办结): shown, never accepted."""


class Vocabulary:
    """The terms of one enum, looked up by name, code, label or proto number."""

    def __init__(self, kind: str, *terms: Term) -> None:
        self.kind = kind
        self.terms = terms

    def __iter__(self) -> Iterator[Term]:
        return iter(self.terms)

    def names(self) -> list[str]:
        return [term.name for term in self.terms if term.offered]

    def find(self, word: str | int) -> Term | None:
        """The offered term spelled `word` (name, code or label), if any."""
        text = str(word).strip()
        for term in self.terms:
            if term.offered and text in (term.name, term.code, term.label):
                return term
        return None

    def label(self, value: int) -> str:
        """How output shows the proto number `value`; unknown numbers stay visible."""
        for term in self.terms:
            if term.value == value:
                return term.label
        return "" if value == 0 else f"<{self.kind} {value}>"

    def code(self, value: int) -> str:
        for term in self.terms:
            if term.value == value:
                return term.code
        return ""

    def listing(self) -> str:
        return ", ".join(
            f"{term.name}" + (f" ({term.code})" if term.code else "")
            for term in self.terms
            if term.offered
        )


class TermChoice(click.ParamType[int]):
    """A click option value that is one term of a vocabulary; converts to its proto number."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary
        self.name = vocabulary.kind

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        return "[" + "|".join(self.vocabulary.names()) + "]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        term = self.vocabulary.find(value)
        if term is None:
            self.fail(
                f"unknown {self.vocabulary.kind} {value!r}; expected one of "
                f"{self.vocabulary.listing()}",
                param,
                ctx,
            )
        return term.value


SUBMISSION_CHANNELS = Vocabulary(
    "channel",
    Term("window", pb.SUBMISSION_CHANNEL_WINDOW, "窗口", "1"),
    Term("online", pb.SUBMISSION_CHANNEL_ONLINE, "网上", "2"),
    Term("mobile", pb.SUBMISSION_CHANNEL_MOBILE, "移动端", "3"),
    Term("self-service", pb.SUBMISSION_CHANNEL_SELF_SERVICE_TERMINAL, "自助终端", "4"),
    Term("other", pb.SUBMISSION_CHANNEL_OTHER, "其他", "9"),
)

APPLICANT_TYPES = Vocabulary(
    "applicant type",
    Term("natural-person", pb.APPLICANT_TYPE_NATURAL_PERSON, "自然人", "1"),
    Term("enterprise", pb.APPLICANT_TYPE_ENTERPRISE_LEGAL_PERSON, "企业法人", "2"),
    Term("institution", pb.APPLICANT_TYPE_INSTITUTION, "事业单位法人", "3"),
    Term("social-organisation", pb.APPLICANT_TYPE_SOCIAL_ORGANISATION, "社会组织法人", "4"),
    Term(
        "unincorporated-enterprise",
        pb.APPLICANT_TYPE_UNINCORPORATED_ENTERPRISE,
        "非法人企业",
        "5",
    ),
    Term("government-organ", pb.APPLICANT_TYPE_GOVERNMENT_ORGAN, "行政机关", "6"),
    Term("other", pb.APPLICANT_TYPE_OTHER, "其他", "9"),
)

ITEM_TYPES = Vocabulary(
    "item type",
    Term("administrative-power", pb.ITEM_TYPE_ADMINISTRATIVE_POWER, "行政权力", "00"),
    Term("licensing", pb.ITEM_TYPE_LICENSING, "行政许可", "01"),
    Term("penalty", pb.ITEM_TYPE_PENALTY, "行政处罚", "02"),
    Term("enforcement", pb.ITEM_TYPE_ENFORCEMENT, "行政强制", "03"),
    Term("levy", pb.ITEM_TYPE_LEVY, "行政征收", "04"),
    Term("payment", pb.ITEM_TYPE_PAYMENT, "行政给付", "05"),
    Term("inspection", pb.ITEM_TYPE_INSPECTION, "行政检查", "06"),
    Term("confirmation", pb.ITEM_TYPE_CONFIRMATION, "行政确认", "07"),
    Term("award", pb.ITEM_TYPE_AWARD, "行政奖励", "08"),
    Term("adjudication", pb.ITEM_TYPE_ADJUDICATION, "行政裁决", "09"),
    Term("other", pb.ITEM_TYPE_OTHER, "其他行政权力", "10"),
    Term("public-service", pb.ITEM_TYPE_PUBLIC_SERVICE, "公共服务", "20"),
)

EXERCISING_LEVELS = Vocabulary(
    "exercising level",
    Term("national", pb.EXERCISING_LEVEL_NATIONAL, "国家级", "1"),
    Term("provincial", pb.EXERCISING_LEVEL_PROVINCIAL, "省级", "2"),
    Term("city", pb.EXERCISING_LEVEL_CITY, "市级", "3"),
    Term("county", pb.EXERCISING_LEVEL_COUNTY, "县级", "4"),
    Term("township", pb.EXERCISING_LEVEL_TOWNSHIP, "镇（乡、街道）级", "5"),
    Term("village", pb.EXERCISING_LEVEL_VILLAGE, "村（社区）级", "6"),
    Term("tiered", pb.EXERCISING_LEVEL_TIERED, "分级管理", "7"),
)

CASE_TYPES = Vocabulary(
    "case type",
    Term("immediate", pb.CASE_TYPE_IMMEDIATE, "即办件", "1"),
    Term("promised", pb.CASE_TYPE_PROMISED, "承诺件", "2"),
    Term("reported-up", pb.CASE_TYPE_REPORTED_UP, "上报件", "4"),
    Term("other", pb.CASE_TYPE_OTHER, "其他", "9"),
)

CONCLUSION_RESULTS = Vocabulary(
    "conclusion result",
    Term("approved", pb.CONCLUSION_RESULT_APPROVED, "准予", "1"),
    Term("disapproved", pb.CONCLUSION_RESULT_DISAPPROVED, "不予许可", "2"),
    Term("returned", pb.CONCLUSION_RESULT_RETURNED, "退件", "3"),
    Term("voided", pb.CONCLUSION_RESULT_VOIDED, "作废", "4"),
    Term("transferred", pb.CONCLUSION_RESULT_TRANSFERRED, "转报办结", "5", offered=False),
    Term("never-corrected", pb.CONCLUSION_RESULT_NEVER_CORRECTED, "补正不来", "6"),
)

SPECIAL_PROCEDURE_KINDS = Vocabulary(
    "special procedure",
    Term("hearing", pb.SPECIAL_PROCEDURE_KIND_HEARING, "听证", "1"),
    Term("testing", pb.SPECIAL_PROCEDURE_KIND_TESTING, "检验、检测、检疫", "2"),
    Term("appraisal", pb.SPECIAL_PROCEDURE_KIND_APPRAISAL, "鉴定", "3"),
    Term("expert-review", pb.SPECIAL_PROCEDURE_KIND_EXPERT_REVIEW, "专家评审", "4"),
    Term("site-check", pb.SPECIAL_PROCEDURE_KIND_SITE_CHECK, "实地核查", "5"),
)

SATISFACTIONS = Vocabulary(
    "satisfaction",
    Term("very-satisfied", pb.SATISFACTION_VERY_SATISFIED, "非常满意", "1"),
    Term("satisfied", pb.SATISFACTION_SATISFIED, "满意", "2"),
    Term("basically-satisfied", pb.SATISFACTION_BASICALLY_SATISFIED, "基本满意", "3"),
    Term("dissatisfied", pb.SATISFACTION_DISSATISFIED, "不满意", "4"),
    Term("very-dissatisfied", pb.SATISFACTION_VERY_DISSATISFIED, "非常不满意", "5"),
)

RATING_CHANNELS = Vocabulary(
    "rating channel",
    Term("pc", pb.RATING_CHANNEL_PC, "PC端", "1"),
    Term("mobile", pb.RATING_CHANNEL_MOBILE, "移动端", "2"),
    Term("qr", pb.RATING_CHANNEL_QR_CODE, "二维码", "3"),
    Term("tablet", pb.RATING_CHANNEL_HALL_TABLET, "政务大厅平板电脑", "4"),
    Term("terminal", pb.RATING_CHANNEL_OTHER_HALL_TERMINAL, "政务大厅其他终端", "5"),
    Term("phone", pb.RATING_CHANNEL_PHONE, "电话", "6"),
    Term("sms", pb.RATING_CHANNEL_SMS, "短信", "7"),
)

STEP_ACTIONS = Vocabulary(
    "step action",
    Term("pass", pb.STEP_ACTION_PASS, "通过"),
    Term("return", pb.STEP_ACTION_RETURN, "退回"),
)

CASE_STATUSES = Vocabulary(
    "case status",
    Term("submitted", pb.CASE_STATUS_SUBMITTED, "已收件", offered=False),
    Term("pre-reviewed", pb.CASE_STATUS_PRE_REVIEWED, "预审通过", offered=False),
    Term("awaiting-correction", pb.CASE_STATUS_AWAITING_CORRECTION, "补齐补正中", offered=False),
    Term("returned", pb.CASE_STATUS_RETURNED, "预审退回", offered=False),
    Term("accepted", pb.CASE_STATUS_ACCEPTED, "已受理", offered=False),
    Term("refused", pb.CASE_STATUS_REFUSED, "不予受理", offered=False),
    Term("in-process", pb.CASE_STATUS_IN_PROCESS, "办理中", offered=False),
    Term("special-procedure", pb.CASE_STATUS_SPECIAL_PROCEDURE, "特别程序中", offered=False),
    Term("suspended", pb.CASE_STATUS_SUSPENDED, "挂起", offered=False),
    Term("concluded", pb.CASE_STATUS_CONCLUDED, "已办结", offered=False),
    Term("withdrawn", pb.CASE_STATUS_WITHDRAWN, "已撤件", offered=False),
)

DEADLINE_STATUSES = Vocabulary(
    "deadline status",
    Term("not-started", pb.DEADLINE_STATUS_NOT_STARTED, "未起算", offered=False),
    Term("on-time", pb.DEADLINE_STATUS_ON_TIME, "正常", offered=False),
    Term("warning", pb.DEADLINE_STATUS_WARNING, "预警", offered=False),
    Term("yellow", pb.DEADLINE_STATUS_YELLOW, "黄牌", offered=False),
    Term("red", pb.DEADLINE_STATUS_RED, "红牌", offered=False),
    Term("concluded-on-time", pb.DEADLINE_STATUS_CONCLUDED_ON_TIME, "按时办结", offered=False),
    Term("concluded-late", pb.DEADLINE_STATUS_CONCLUDED_LATE, "超期办结", offered=False),
)

TRANSFER_OUTCOMES = Vocabulary(
    "transfer outcome",
    Term("accepted", pb.TRANSFER_OUTCOME_ACCEPTED, "已接收", offered=False),
    Term("rejected", pb.TRANSFER_OUTCOME_REJECTED, "已拒收", offered=False),
    Term("pending", pb.TRANSFER_OUTCOME_PENDING, "待接收", offered=False),
)

STAGE_LABELS: dict[str, str] = {
    "Submitted": "申报/收件",
    "PreReviewPassed": "预审通过",
    "PreReviewReturned": "预审退回",
    "CorrectionRequested": "补齐补正告知",
    "MaterialsSupplemented": "补正材料",
    "Accepted": "受理",
    "AcceptanceRefused": "不予受理",
    "StepRecorded": "办理环节",
    "SpecialProcedureStarted": "特别程序开始",
    "SpecialProcedureEnded": "特别程序结束",
    "Suspended": "挂起",
    "Resumed": "恢复",
    "DeadlineExtended": "延期",
    "Concluded": "办结",
    "CertificateIssued": "出证",
    "DispatchedByMail": "邮寄送达",
    "CollectedAtWindow": "窗口领取",
    "DeliveryConfirmed": "签收",
    "Withdrawn": "撤件",
    "Rated": "好差评",
    "RectificationRecorded": "差评整改",
    "TransferRequested": "转报/下发/跨域",
    "TransferAccepted": "移交接收",
    "TransferRejected": "移交拒收",
}
"""The Chinese name of each stage (event type) of a case's trail."""


def stage_label(stage: str) -> str:
    """`受理 Accepted`: the Chinese name, then the event type an auditor matches on."""
    chinese = STAGE_LABELS.get(stage)
    return f"{chinese} {stage}" if chinese else stage


def label_of_code(vocabulary: Vocabulary, code: str) -> str:
    """The label of the term a ledger code (`1`, as events record it) stands for."""
    return next((term.label for term in vocabulary if term.code == code), code)
