"""Code tables of government service data (GB/T 39046-2020 annex A).

Each enum member is written as one row of its table, `(code, label)`: the
number and the Chinese label are kept together because provinces disagree on
numbers (Zhejiang swaps 即办件 and 承诺件; several platforms number
satisfaction from 非常不满意), so data from outside is matched by label as
well as by number, and both are stored.

Tables without a national numbering in the sources we follow (submission
channel, conclusion result, special procedure, delivery method) carry codes
of the ledger's own, said so in their docstrings.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Self

from caseledger.ledger.errors import InvalidInput


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class CodeTable(Enum):
    """A code table: members are `(code, label)` rows, looked up by either."""

    code: str
    label: str

    def __init__(self, code: str, label: str) -> None:
        self.code = code
        self.label = label

    @classmethod
    def from_code(cls, code: str, field: str | None = None) -> Self:
        """The member numbered `code`; `InvalidInput` naming `field` if none is."""
        for member in cls:
            if member.code == code:
                return member
        raise InvalidInput.single(
            field or _snake(cls.__name__),
            f"unknown {cls._kind()} code {code!r}; expected one of {cls._listing()}",
        )

    @classmethod
    def from_label(cls, label: str, field: str | None = None) -> Self:
        """The member labelled `label` (exact Chinese text)."""
        for member in cls:
            if member.label == label:
                return member
        raise InvalidInput.single(
            field or _snake(cls.__name__),
            f"unknown {cls._kind()} label {label!r}; expected one of {cls._listing()}",
        )

    @classmethod
    def _kind(cls) -> str:
        return _snake(cls.__name__).replace("_", " ")

    @classmethod
    def _listing(cls) -> str:
        return ", ".join(f"{member.code} ({member.label})" for member in cls)


class ItemType(CodeTable):
    """事项类型 (n2). Codes 11+ and 21+ are local extensions, not listed here."""

    ADMINISTRATIVE_POWER = "00", "行政权力"
    LICENSING = "01", "行政许可"
    PENALTY = "02", "行政处罚"
    ENFORCEMENT = "03", "行政强制"
    LEVY = "04", "行政征收"
    PAYMENT = "05", "行政给付"
    INSPECTION = "06", "行政检查"
    CONFIRMATION = "07", "行政确认"
    AWARD = "08", "行政奖励"
    ADJUDICATION = "09", "行政裁决"
    OTHER = "10", "其他行政权力"
    PUBLIC_SERVICE = "20", "公共服务"


class ExercisingLevel(CodeTable):
    """行使层级 (n1): the level of government that exercises an item."""

    NATIONAL = "1", "国家级"
    PROVINCIAL = "2", "省级"
    CITY = "3", "市级"
    COUNTY = "4", "县级"
    TOWNSHIP = "5", "镇（乡、街道）级"
    VILLAGE = "6", "村（社区）级"
    TIERED = "7", "分级管理"


class CaseType(CodeTable):
    """办件类型 (n1). 4 上报件 is Shandong's extension for cases reported up."""

    IMMEDIATE = "1", "即办件"
    PROMISED = "2", "承诺件"
    REPORTED_UP = "4", "上报件"
    OTHER = "9", "其他"


class Numbering(Enum):
    """Which way an interface numbers the five satisfaction levels."""

    GBT39046 = "gbt39046"
    """1 = 非常满意 … 5 = 非常不满意, as in GB/T 39046 and 国办发〔2019〕51号."""
    DISSATISFIED_FIRST = "dissatisfied_first"
    """1 = 非常不满意 … 5 = 非常满意, as several provincial interfaces send it."""


class Satisfaction(CodeTable):
    """好差评 satisfaction level; `code` is always the GB/T 39046 number."""

    VERY_SATISFIED = "1", "非常满意"
    SATISFIED = "2", "满意"
    BASICALLY_SATISFIED = "3", "基本满意"
    DISSATISFIED = "4", "不满意"
    VERY_DISSATISFIED = "5", "非常不满意"

    @property
    def is_bad(self) -> bool:
        """A 差评: it must carry a text or a chosen detail and opens a rectification."""
        return self in (Satisfaction.DISSATISFIED, Satisfaction.VERY_DISSATISFIED)

    @classmethod
    def from_code(
        cls,
        code: str,
        field: str | None = None,
        *,
        numbering: Numbering = Numbering.GBT39046,
    ) -> Self:
        return super().from_code(_renumber(code, numbering), field)

    def code_in(self, numbering: Numbering) -> str:
        """This level's number as an interface using `numbering` writes it."""
        return _renumber(self.code, numbering)


def _renumber(code: str, numbering: Numbering) -> str:
    # The two numberings are mirror images of each other, so the same map
    # converts in both directions; anything outside 1..5 passes through and
    # is reported as unknown by the lookup.
    if numbering is Numbering.DISSATISFIED_FIRST and code in ("1", "2", "3", "4", "5"):
        return str(6 - int(code))
    return code


class RatingChannel(CodeTable):
    """好差评 评价渠道: where the applicant gave the rating."""

    PC = "1", "PC端"
    MOBILE = "2", "移动端"
    QR_CODE = "3", "二维码"
    HALL_TABLET = "4", "政务大厅平板电脑"
    OTHER_HALL_TERMINAL = "5", "政务大厅其他终端"
    PHONE = "6", "电话"
    SMS = "7", "短信"


class SubmissionChannel(CodeTable):
    """申报来源. The codes are the ledger's own."""

    WINDOW = "1", "窗口"
    ONLINE = "2", "网上"
    MOBILE = "3", "移动端"
    SELF_SERVICE_TERMINAL = "4", "自助终端"
    OTHER = "9", "其他"


class ApplicantType(CodeTable):
    """申请人类型."""

    NATURAL_PERSON = "1", "自然人"
    ENTERPRISE_LEGAL_PERSON = "2", "企业法人"
    INSTITUTION = "3", "事业单位法人"
    SOCIAL_ORGANISATION = "4", "社会组织法人"
    UNINCORPORATED_ENTERPRISE = "5", "非法人企业"
    GOVERNMENT_ORGAN = "6", "行政机关"
    OTHER = "9", "其他"


class ConclusionResult(CodeTable):
    """办结结果. The codes are the ledger's own."""

    APPROVED = "1", "准予"
    DISAPPROVED = "2", "不予许可"
    RETURNED = "3", "退件"
    VOIDED = "4", "作废"
    TRANSFERRED = "5", "转报办结"
    NEVER_CORRECTED = "6", "补正不来"


class SpecialProcedureKind(CodeTable):
    """特别程序: time spent in one is not counted (行政许可法 Art. 45).

    The codes are the ledger's own.
    """

    HEARING = "1", "听证"
    TESTING = "2", "检验、检测、检疫"
    APPRAISAL = "3", "鉴定"
    EXPERT_REVIEW = "4", "专家评审"
    SITE_CHECK = "5", "实地核查"


class DeliveryMethod(CodeTable):
    """送达方式. The codes are the ledger's own."""

    MAIL = "1", "邮寄"
    WINDOW = "2", "窗口领取"
