"""What a clerk enters is checked against the case and the clock, before any event exists."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from caseledger.ledger.case.aggregate import Case
from caseledger.ledger.case.checks import CLOCK_SKEW, missing_materials
from caseledger.ledger.case.events import china_date
from caseledger.ledger.case.stages import Command
from caseledger.ledger.codes.vocabulary import CaseType
from caseledger.ledger.errors import IllegalTransition, InvalidInput
from tests.ledger.case.case_paths import (
    LICENCE_FILE,
    PROMISED_LIMITS,
    SIGNER,
    follow,
    submit,
    trail,
)
from tests.samples import Clock, food_licence_terms, material

REQUIRED = food_licence_terms().required_materials
MAILED = (
    Command.ACCEPT,
    Command.RECORD_STEP,
    Command.CONCLUDE,
    Command.ISSUE_CERTIFICATE,
    Command.DISPATCH_BY_MAIL,
)


def mailed(clock: Clock) -> Case:
    case = follow(clock, MAILED)
    trail(case)
    return case


def test_a_receipt_dated_in_the_future_is_refused_naming_today() -> None:
    clock = Clock()
    case = mailed(clock)
    ctx = clock.ctx()
    tomorrow = china_date(ctx.at) + timedelta(days=1)
    with pytest.raises(InvalidInput) as error:
        case.confirm_delivery(ctx, SIGNER, tomorrow)
    (violation,) = error.value.violations
    assert violation.field == "received_on"
    assert violation.reason == (
        f"{tomorrow.isoformat()} is in the future (today is {china_date(ctx.at).isoformat()})"
    )
    assert trail(case) == []


def test_a_receipt_just_after_midnight_on_a_clock_running_fast_is_today() -> None:
    clock = Clock()
    case = mailed(clock)
    ctx = clock.ctx()
    just_before_midnight = ctx.at.replace(hour=15, minute=58)  # 23:58 Beijing time
    clock.now = just_before_midnight
    ctx = clock.ctx()
    next_day = china_date(ctx.at + CLOCK_SKEW)
    assert next_day > china_date(ctx.at)
    case.confirm_delivery(ctx, SIGNER, next_day)
    assert case.received_on == next_day


def test_a_receipt_before_the_dispatch_is_refused_naming_the_dispatch_day() -> None:
    clock = Clock()
    case = mailed(clock)
    dispatched = case.dispatched_on
    assert dispatched is not None
    with pytest.raises(InvalidInput) as error:
        case.confirm_delivery(clock.ctx(days=3), SIGNER, dispatched - timedelta(days=1))
    (violation,) = error.value.violations
    assert violation.field == "received_on"
    assert violation.reason.endswith(f"is before the dispatch on {dispatched.isoformat()}")


def test_a_receipt_on_the_day_of_dispatch_or_later_is_recorded() -> None:
    clock = Clock()
    case = mailed(clock)
    ctx = clock.ctx(days=2)
    case.confirm_delivery(ctx, SIGNER, china_date(ctx.at) - timedelta(days=1))
    assert (
        trail(case)[-1].payload["received_on"]
        == (china_date(ctx.at) - timedelta(days=1)).isoformat()
    )


def test_a_case_missing_a_required_material_is_not_accepted_and_the_missing_one_is_named() -> None:
    clock = Clock()
    case = submit(clock, materials=[material("食品经营许可申请书")])
    trail(case)
    with pytest.raises(IllegalTransition) as error:
        case.accept(
            clock.ctx(), "历受〔2026〕101号", CaseType.PROMISED, PROMISED_LIMITS,
            required_materials=REQUIRED,
        )  # fmt: skip
    assert "required materials missing: 营业执照复印件" in error.value.reason
    assert "request a correction" in error.value.reason
    assert trail(case) == []


def test_a_material_supplied_in_correction_counts_for_acceptance() -> None:
    clock = Clock()
    case = submit(clock, materials=[material("食品经营许可申请书")])
    case.request_correction(clock.ctx(), [("营业执照复印件", "未提交")])
    case.supplement_materials(clock.ctx(), [material("营业执照复印件")])
    case.accept(
        clock.ctx(), "历受〔2026〕101号", CaseType.PROMISED, PROMISED_LIMITS,
        required_materials=REQUIRED,
    )  # fmt: skip
    assert trail(case)[-1].stage == "Accepted"


def test_materials_are_compared_by_name_in_the_items_order() -> None:
    assert missing_materials([" 营业执照复印件 "], ["申请书", "营业执照复印件", "身份证"]) == [
        "申请书",
        "身份证",
    ]
    assert missing_materials(["a", "b"], []) == []


def test_a_licence_id_another_case_holds_is_refused_naming_that_case() -> None:
    clock = Clock()
    case = follow(clock, (Command.ACCEPT, Command.RECORD_STEP, Command.CONCLUDE))
    trail(case)
    holders = {"JY23701020000001": "37010200000020260301000009"}
    with pytest.raises(InvalidInput) as error:
        case.issue_certificate(
            clock.ctx(), "JY23701020000001", LICENCE_FILE, date(2026, 3, 20), None,
            licence_holder=holders.get,
        )  # fmt: skip
    (violation,) = error.value.violations
    assert violation.field == "licence_id"
    assert violation.reason == (
        "JY23701020000001 was already issued for case 37010200000020260301000009"
    )
    assert trail(case) == []


def test_a_licence_id_no_other_case_holds_is_issued() -> None:
    clock = Clock()
    case = follow(clock, (Command.ACCEPT, Command.RECORD_STEP, Command.CONCLUDE))
    case.issue_certificate(
        clock.ctx(), "JY23701020000002", LICENCE_FILE, date(2026, 3, 20), None,
        licence_holder=lambda licence: None,
    )  # fmt: skip
    assert case.certificate == "JY23701020000002"
