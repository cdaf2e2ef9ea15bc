"""Realistic sample data shared by the tests (Shandong, Jinan, Lixia district)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from caseledger.ledger.case.aggregate import Context, Material, Operator
from caseledger.ledger.catalogue import ItemTerms
from caseledger.ledger.codes.identifiers import (
    ItemImplementationCode,
    citizen_id_check_char,
    credit_code_check_char,
)
from caseledger.ledger.codes.vocabulary import ApplicantType, CaseType, ExercisingLevel, ItemType
from caseledger.ledger.intake import ApplicantForm
from caseledger.ledger.timelimits.deadlines import TimeLimits

LIXIA = "370102000000"  # 历下区
JIEFANGLU = "370102001000"  # 解放路街道
PROVINCE = "370000000000"  # 山东省

# 历下区行政审批服务局 (an illustrative, checksum-valid credit code)
LIXIA_BUREAU = "11370102MB2859" + "01" + "3"
LIXIA_BUREAU = LIXIA_BUREAU[:17] + credit_code_check_char(LIXIA_BUREAU[:17])

FOOD_LICENCE = f"{LIXIA_BUREAU}4370100200001"
"""食品经营许可: implementation code = issuer credit code + county level + basic code."""

CITIZEN_ID = "37010219900307123" + citizen_id_check_char("37010219900307123")


def food_licence_terms(case_type: CaseType = CaseType.PROMISED) -> ItemTerms:
    promised = 0 if case_type is CaseType.IMMEDIATE else 10
    return ItemTerms(
        implementation_code=ItemImplementationCode.parse(FOOD_LICENCE),
        name="食品经营许可证核发",
        item_type=ItemType.LICENSING,
        exercising_level=ExercisingLevel.COUNTY,
        case_type=case_type,
        limits=TimeLimits(statutory_days=20, promised_days=promised),
        required_materials=("食品经营许可申请书", "营业执照复印件"),
        issues_certificate=True,
    )


def applicant() -> ApplicantForm:
    return ApplicantForm(
        type=ApplicantType.NATURAL_PERSON,
        name="张三",
        id_number=CITIZEN_ID,
        phone="13800138000",
        address="济南市历下区解放路1号",
    )


def material(name: str = "食品经营许可申请书") -> Material:
    return Material(name, hashlib.sha256(name.encode()).hexdigest())


class Clock:
    """Hands out strictly increasing times from a fixed start, one minute apart."""

    def __init__(self, start: datetime = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)) -> None:
        self.now = start
        self.serial = 0

    def ctx(self, node: str = LIXIA, role: str = "window_clerk", days: int = 0) -> Context:
        self.now += timedelta(days=days, minutes=1)
        self.serial += 1
        return Context(
            node=node,
            operator=Operator(id=f"op-{role}", role=role),
            at=self.now,
            request_id=f"req-{self.serial}",
            request_digest=f"digest-{self.serial}",
        )
