from __future__ import annotations

import pytest

from caseledger.ledger.codes.vocabulary import (
    ApplicantType,
    CaseType,
    CodeTable,
    ConclusionResult,
    DeliveryMethod,
    ExercisingLevel,
    ItemType,
    Numbering,
    RatingChannel,
    Satisfaction,
    SpecialProcedureKind,
    SubmissionChannel,
)
from caseledger.ledger.errors import InvalidInput

TABLES: list[type[CodeTable]] = [
    ItemType,
    ExercisingLevel,
    CaseType,
    Satisfaction,
    RatingChannel,
    SubmissionChannel,
    ApplicantType,
    ConclusionResult,
    SpecialProcedureKind,
    DeliveryMethod,
]


def codes(table: type[CodeTable]) -> list[str]:
    return [member.code for member in table]


@pytest.mark.parametrize("table", TABLES)
def test_every_member_is_found_by_its_code(table: type[CodeTable]) -> None:
    for member in table:
        assert table.from_code(member.code) is member


@pytest.mark.parametrize("table", TABLES)
def test_every_member_is_found_by_its_label(table: type[CodeTable]) -> None:
    for member in table:
        assert table.from_label(member.label) is member


@pytest.mark.parametrize("table", TABLES)
def test_codes_and_labels_are_unique_within_a_table(table: type[CodeTable]) -> None:
    assert len(set(codes(table))) == len(table)
    assert len({member.label for member in table}) == len(table)


@pytest.mark.parametrize("table", TABLES)
def test_member_names_are_upper_snake_english(table: type[CodeTable]) -> None:
    for member in table:
        assert member.name.isascii()
        assert member.name == member.name.upper()


def test_unknown_code_is_rejected_with_the_table_listed() -> None:
    with pytest.raises(InvalidInput) as error:
        CaseType.from_code("3")
    (violation,) = error.value.violations
    assert violation.field == "case_type"
    assert violation.reason == (
        "unknown case type code '3'; expected one of 1 (即办件), 2 (承诺件), 4 (上报件), 9 (其他)"
    )


def test_unknown_code_rejection_names_the_field_given() -> None:
    with pytest.raises(InvalidInput) as error:
        ApplicantType.from_code("7", field="applicant.type")
    assert error.value.violations[0].field == "applicant.type"


def test_unknown_label_is_rejected() -> None:
    with pytest.raises(InvalidInput) as error:
        DeliveryMethod.from_label("快递")
    assert error.value.violations[0].reason.startswith("unknown delivery method label '快递'")


def test_item_types_follow_gbt39046() -> None:
    assert codes(ItemType) == [f"{n:02d}" for n in range(11)] + ["20"]
    assert ItemType.from_code("01") is ItemType.LICENSING
    assert ItemType.PUBLIC_SERVICE.label == "公共服务"


def test_item_type_extension_code_is_not_a_national_type() -> None:
    with pytest.raises(InvalidInput):
        ItemType.from_code("21")


def test_exercising_levels_run_from_national_to_tiered() -> None:
    assert codes(ExercisingLevel) == ["1", "2", "3", "4", "5", "6", "7"]
    assert ExercisingLevel.from_code("1") is ExercisingLevel.NATIONAL
    assert ExercisingLevel.from_code("7") is ExercisingLevel.TIERED


def test_case_types_carry_their_chinese_labels() -> None:
    assert (CaseType.IMMEDIATE.code, CaseType.IMMEDIATE.label) == ("1", "即办件")
    assert (CaseType.PROMISED.code, CaseType.PROMISED.label) == ("2", "承诺件")
    assert (CaseType.REPORTED_UP.code, CaseType.REPORTED_UP.label) == ("4", "上报件")
    assert CaseType.OTHER.code == "9"


def test_applicant_types_are_one_to_six_and_nine() -> None:
    assert codes(ApplicantType) == ["1", "2", "3", "4", "5", "6", "9"]
    assert ApplicantType.from_code("1") is ApplicantType.NATURAL_PERSON


def test_rating_channels_are_one_to_seven() -> None:
    assert codes(RatingChannel) == ["1", "2", "3", "4", "5", "6", "7"]
    assert RatingChannel.from_code("3") is RatingChannel.QR_CODE


def test_satisfaction_follows_gbt39046_numbering_by_default() -> None:
    assert Satisfaction.from_code("1") is Satisfaction.VERY_SATISFIED
    assert Satisfaction.from_code("5") is Satisfaction.VERY_DISSATISFIED
    assert Satisfaction.VERY_SATISFIED.label == "非常满意"


def test_satisfaction_one_means_very_dissatisfied_in_the_dissatisfied_first_numbering() -> None:
    assert (
        Satisfaction.from_code("1", numbering=Numbering.DISSATISFIED_FIRST)
        is Satisfaction.VERY_DISSATISFIED
    )
    assert (
        Satisfaction.from_code("4", numbering=Numbering.DISSATISFIED_FIRST)
        is Satisfaction.SATISFIED
    )


def test_satisfaction_middle_level_is_three_in_both_numberings() -> None:
    for numbering in Numbering:
        assert Satisfaction.from_code("3", numbering=numbering) is Satisfaction.BASICALLY_SATISFIED


@pytest.mark.parametrize("numbering", list(Numbering))
def test_satisfaction_written_in_a_numbering_reads_back_in_it(numbering: Numbering) -> None:
    for level in Satisfaction:
        assert Satisfaction.from_code(level.code_in(numbering), numbering=numbering) is level


def test_satisfaction_code_stays_the_gbt39046_number() -> None:
    level = Satisfaction.from_code("2", numbering=Numbering.DISSATISFIED_FIRST)
    assert level is Satisfaction.DISSATISFIED
    assert level.code == "4"


def test_satisfaction_six_is_rejected_in_either_numbering() -> None:
    for numbering in Numbering:
        with pytest.raises(InvalidInput):
            Satisfaction.from_code("6", numbering=numbering)


def test_only_the_two_lowest_satisfaction_levels_are_bad() -> None:
    bad = {level for level in Satisfaction if level.is_bad}
    assert bad == {Satisfaction.DISSATISFIED, Satisfaction.VERY_DISSATISFIED}


def test_conclusion_results_carry_the_domain_labels() -> None:
    labels = {result.name: result.label for result in ConclusionResult}
    assert labels == {
        "APPROVED": "准予",
        "DISAPPROVED": "不予许可",
        "RETURNED": "退件",
        "VOIDED": "作废",
        "TRANSFERRED": "转报办结",
        "NEVER_CORRECTED": "补正不来",
    }


def test_special_procedures_are_the_five_of_article_45_practice() -> None:
    assert {kind.label for kind in SpecialProcedureKind} == {
        "听证",
        "检验、检测、检疫",
        "鉴定",
        "专家评审",
        "实地核查",
    }


def test_submission_channels_cover_window_online_mobile_terminal_and_other() -> None:
    assert [channel.name for channel in SubmissionChannel] == [
        "WINDOW",
        "ONLINE",
        "MOBILE",
        "SELF_SERVICE_TERMINAL",
        "OTHER",
    ]
