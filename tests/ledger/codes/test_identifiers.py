from __future__ import annotations

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caseledger.ledger.codes.identifiers import (
    ALPHANUMERIC,
    CREDIT_CODE_ALPHABET,
    E_LICENCE_ROOT,
    BusinessItemCode,
    CitizenId,
    CreditCode,
    DivisionCode,
    ELicenceId,
    ItemBasicCode,
    ItemImplementationCode,
    citizen_id_check_char,
    credit_code_check_char,
    mod37_36_check_char,
)
from caseledger.ledger.codes.vocabulary import ExercisingLevel, ItemType
from caseledger.ledger.errors import InvalidInput

# The GB 11643 sample printed in the standard and in countless references.
PUBLISHED_CITIZEN_ID = "11010519491231002X"
# Real unified social credit codes; both satisfy the GB 32100 check.
FUZHOU_CREDIT_CODE = "91350100M000100Y43"
SHANGHAI_CREDIT_CODE = "11310000MB2F30661Y"
IMPLEMENTATION_CODE = SHANGHAI_CREDIT_CODE + "2" + "312003564000"


def reason_of(error: pytest.ExceptionInfo[InvalidInput]) -> str:
    (violation,) = error.value.violations
    return violation.reason


def replaced(text: str, index: int, char: str) -> str:
    return text[:index] + char + text[index + 1 :]


# --- citizen id (公民身份号码) ---------------------------------------------


def test_published_citizen_id_parses() -> None:
    assert str(CitizenId.parse(PUBLISHED_CITIZEN_ID)) == PUBLISHED_CITIZEN_ID


def test_check_function_gives_the_published_check_character() -> None:
    assert citizen_id_check_char(PUBLISHED_CITIZEN_ID[:17]) == "X"


def test_lower_case_x_is_read_as_upper_case() -> None:
    assert str(CitizenId.parse(PUBLISHED_CITIZEN_ID.lower())) == PUBLISHED_CITIZEN_ID


def test_citizen_id_exposes_birth_date_and_address_code() -> None:
    citizen = CitizenId.parse(PUBLISHED_CITIZEN_ID)
    assert citizen.birth_date == datetime.date(1949, 12, 31)
    assert citizen.address_code == "110105"


def test_citizen_id_with_one_digit_changed_fails_the_check() -> None:
    # The 16th digit weighs 4: 0 -> 1 moves the sum from 2 to 6 (mod 11),
    # and position 6 of "10X98765432" is "6".
    with pytest.raises(InvalidInput) as error:
        CitizenId.parse(replaced(PUBLISHED_CITIZEN_ID, 15, "1"))
    assert reason_of(error) == (
        "check character is 'X' but the first 17 characters give '6' (GB 11643, ISO 7064 MOD 11-2)"
    )


def test_citizen_id_of_17_characters_is_rejected() -> None:
    with pytest.raises(InvalidInput) as error:
        CitizenId.parse(PUBLISHED_CITIZEN_ID[:17])
    assert reason_of(error) == "must be 18 characters, got 17"


def test_citizen_id_with_a_letter_in_the_body_is_rejected() -> None:
    with pytest.raises(InvalidInput) as error:
        CitizenId.parse(replaced(PUBLISHED_CITIZEN_ID, 3, "A"))
    assert reason_of(error) == "the first 17 characters must be digits"


def test_citizen_id_with_a_check_letter_other_than_x_is_rejected() -> None:
    with pytest.raises(InvalidInput) as error:
        CitizenId.parse(replaced(PUBLISHED_CITIZEN_ID, 17, "Y"))
    assert reason_of(error) == "the check character must be a digit or X, got 'Y'"


def test_citizen_id_with_an_impossible_birth_date_is_rejected() -> None:
    body = "11010519490229002"  # 1949 was not a leap year
    with pytest.raises(InvalidInput) as error:
        CitizenId.parse(body + citizen_id_check_char(body))
    assert reason_of(error) == "embedded birth date 19490229 is not a real date"


def test_citizen_id_rejection_names_the_field_given() -> None:
    with pytest.raises(InvalidInput) as error:
        CitizenId.parse("", field="applicant.id_number")
    assert error.value.violations[0].field == "applicant.id_number"


def test_citizen_id_repr_masks_the_birth_date() -> None:
    assert repr(CitizenId.parse(PUBLISHED_CITIZEN_ID)) == "CitizenId('110105********002X')"


def test_citizen_check_function_refuses_non_digits() -> None:
    with pytest.raises(ValueError, match="need 17 digits"):
        citizen_id_check_char("1101051949123100X")


citizen_bodies = st.builds(
    lambda address, born, sequence: f"{address}{born:%Y%m%d}{sequence}",
    st.text("0123456789", min_size=6, max_size=6),
    st.dates(datetime.date(1900, 1, 1), datetime.date(2099, 12, 31)),
    st.text("0123456789", min_size=3, max_size=3),
)


@given(citizen_bodies)
def test_seventeen_digits_with_their_check_character_parse(body: str) -> None:
    text = body + citizen_id_check_char(body)
    assert str(CitizenId.parse(text)) == text


@given(citizen_bodies, st.integers(0, 17), st.sampled_from("0123456789X"))
def test_changing_one_character_of_a_citizen_id_is_rejected(
    body: str, index: int, char: str
) -> None:
    text = body + citizen_id_check_char(body)
    changed = replaced(text, index, char)
    if changed != text:
        with pytest.raises(InvalidInput):
            CitizenId.parse(changed)


# --- unified social credit code (统一社会信用代码) ----------------------------


@pytest.mark.parametrize("text", [FUZHOU_CREDIT_CODE, SHANGHAI_CREDIT_CODE])
def test_real_credit_codes_parse(text: str) -> None:
    assert str(CreditCode.parse(text)) == text


@pytest.mark.parametrize("text", [FUZHOU_CREDIT_CODE, SHANGHAI_CREDIT_CODE])
def test_check_function_gives_the_real_check_character(text: str) -> None:
    assert credit_code_check_char(text[:17]) == text[17]


def test_credit_code_exposes_its_parts() -> None:
    code = CreditCode.parse(FUZHOU_CREDIT_CODE)
    assert code.registration_authority == "9"
    assert code.organisation_category == "1"
    assert code.division == "350100"
    assert code.organisation_identifier == "M000100Y4"


def test_credit_code_with_one_character_changed_fails_the_check() -> None:
    with pytest.raises(InvalidInput) as error:
        CreditCode.parse(replaced(FUZHOU_CREDIT_CODE, 4, "2"))
    assert reason_of(error).startswith("check character is '3' but the first 17 characters give")


def test_credit_code_with_wrong_check_character_names_the_right_one() -> None:
    with pytest.raises(InvalidInput) as error:
        CreditCode.parse(replaced(SHANGHAI_CREDIT_CODE, 17, "X"))
    assert reason_of(error) == (
        "check character is 'X' but the first 17 characters give 'Y' (GB 32100, MOD 31)"
    )


@pytest.mark.parametrize("letter", ["I", "O", "S", "V", "Z", "m"])
def test_credit_code_with_a_letter_outside_its_alphabet_is_rejected(letter: str) -> None:
    with pytest.raises(InvalidInput) as error:
        CreditCode.parse(replaced(SHANGHAI_CREDIT_CODE, 8, letter))
    assert reason_of(error).startswith(f"character {letter!r} at position 9 is not allowed")


@pytest.mark.parametrize("text", ["", SHANGHAI_CREDIT_CODE[:17], SHANGHAI_CREDIT_CODE + "0"])
def test_credit_code_of_wrong_length_is_rejected(text: str) -> None:
    with pytest.raises(InvalidInput) as error:
        CreditCode.parse(text)
    assert reason_of(error) == f"must be 18 characters, got {len(text)}"


credit_bodies = st.text(CREDIT_CODE_ALPHABET, min_size=17, max_size=17)
credit_codes = credit_bodies.map(lambda body: CreditCode(body + credit_code_check_char(body)))


@given(credit_bodies)
def test_seventeen_credit_characters_with_their_check_character_parse(body: str) -> None:
    text = body + credit_code_check_char(body)
    assert str(CreditCode.parse(text)) == text


@given(credit_codes, st.integers(0, 17), st.sampled_from(CREDIT_CODE_ALPHABET))
def test_changing_one_character_of_a_credit_code_is_rejected(
    code: CreditCode, index: int, char: str
) -> None:
    changed = replaced(str(code), index, char)
    if changed != str(code):
        with pytest.raises(InvalidInput):
            CreditCode.parse(changed)


# --- item codes (一事一码) ---------------------------------------------------


def test_basic_code_exposes_its_parts() -> None:
    basic = ItemBasicCode.parse("312003564000")
    assert basic.origin == "31"
    assert basic.origin_province == DivisionCode.parse("310000")
    assert basic.item_type is ItemType.PUBLIC_SERVICE
    assert (basic.main_item, basic.sub_item) == ("03564", "000")


def test_basic_code_of_the_national_catalogue_has_no_origin_province() -> None:
    assert ItemBasicCode.parse("000100001000").origin_province is None


def test_basic_code_with_an_extension_item_type_has_no_national_type() -> None:
    basic = ItemBasicCode.parse("371100001000")
    assert basic.item_type_code == "11"
    assert basic.item_type is None


def test_basic_code_from_an_unknown_origin_is_rejected() -> None:
    with pytest.raises(InvalidInput) as error:
        ItemBasicCode.parse("990100001000")
    assert reason_of(error) == (
        "catalogue origin 99 must be 00 (national) or a GB/T 2260 province code"
    )


@pytest.mark.parametrize("text", ["31200356400", "3120035640000", "31200356400A"])
def test_basic_code_that_is_not_twelve_digits_is_rejected(text: str) -> None:
    with pytest.raises(InvalidInput):
        ItemBasicCode.parse(text)


def test_implementation_code_exposes_body_level_and_basic_code() -> None:
    code = ItemImplementationCode.parse(IMPLEMENTATION_CODE)
    assert code.implementing_body == CreditCode.parse(SHANGHAI_CREDIT_CODE)
    assert code.exercising_level is ExercisingLevel.PROVINCIAL
    assert code.basic_code == ItemBasicCode.parse("312003564000")
    assert str(code) == IMPLEMENTATION_CODE


def test_implementation_code_with_a_bad_embedded_credit_code_is_rejected() -> None:
    with pytest.raises(InvalidInput) as error:
        ItemImplementationCode.parse(replaced(IMPLEMENTATION_CODE, 17, "X"))
    assert reason_of(error).startswith("implementing body credit code: check character is 'X'")


def test_implementation_code_with_an_unknown_exercising_level_is_rejected() -> None:
    with pytest.raises(InvalidInput) as error:
        ItemImplementationCode.parse(replaced(IMPLEMENTATION_CODE, 18, "8"))
    assert reason_of(error).startswith("exercising level: unknown exercising level code '8'")


def test_implementation_code_with_a_bad_basic_code_is_rejected() -> None:
    with pytest.raises(InvalidInput) as error:
        ItemImplementationCode.parse(replaced(IMPLEMENTATION_CODE, 25, "A"))
    assert reason_of(error) == "basic code: must contain only the digits 0-9"


def test_implementation_code_of_wrong_length_is_rejected() -> None:
    with pytest.raises(InvalidInput) as error:
        ItemImplementationCode.parse(IMPLEMENTATION_CODE[:30])
    assert reason_of(error) == "must be 31 characters, got 30"


def test_business_item_code_round_trips_and_exposes_its_sequence() -> None:
    code = BusinessItemCode.parse(IMPLEMENTATION_CODE + "01")
    assert code.sequence == "01"
    assert code.implementation_code == ItemImplementationCode.parse(IMPLEMENTATION_CODE)
    assert str(code) == IMPLEMENTATION_CODE + "01"


def test_business_item_code_with_a_letter_in_its_sequence_is_rejected() -> None:
    with pytest.raises(InvalidInput) as error:
        BusinessItemCode.parse(IMPLEMENTATION_CODE + "0A", field="item")
    assert error.value.violations[0].field == "item"
    assert reason_of(error) == "sequence must be 2 digits, got '0A'"


def test_business_item_code_of_wrong_length_is_rejected() -> None:
    with pytest.raises(InvalidInput) as error:
        BusinessItemCode.parse(IMPLEMENTATION_CODE + "1")
    assert reason_of(error) == "must be 33 characters, got 32"


# --- ISO 7064 MOD 37,36 and e-licence ids (电子证照标识) ----------------------


def mod37_36_residue(text: str) -> int:
    """The hybrid-system running sum after the last character; 1 when valid."""
    product, total = 36, 0
    for c in text:
        total = (product + ALPHANUMERIC.index(c)) % 36 or 36
        product = total * 2 % 37
    return total


def test_mod37_36_check_character_of_a_short_text_matches_hand_arithmetic() -> None:
    # "A1": 36+10 -> 10, x2 mod 37 = 20; 20+1 -> 21, x2 mod 37 = 5;
    # the check c needs (5 + c) mod 36 = 1, so c = 32 = "W".
    assert mod37_36_check_char("A1") == "W"


@given(st.text(ALPHANUMERIC, min_size=1, max_size=60))
def test_mod37_36_check_character_brings_the_running_sum_to_one(text: str) -> None:
    assert mod37_36_residue(text + mod37_36_check_char(text)) == 1


def test_mod37_36_refuses_lower_case() -> None:
    with pytest.raises(ValueError, match="0-9A-Z"):
        mod37_36_check_char("a1")


ISSUER = CreditCode.parse(FUZHOU_CREDIT_CODE)


# Published e-licence identifiers (电子证照标识), each as it appears in public material:
PUBLISHED_E_LICENCES = (
    # The example of annex A.2 of 全国一体化政务服务平台 电子证照 建筑施工企业安全生产
    # 管理人员考核合格证书 (a Hunan issuer), quoted in a provincial platform's client.
    "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.002.S",
    # The same certificate's version 001, quoted there as the associated identifier.
    "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U",
    # The file name of an OFD licence on Zhejiang's investment project platform.
    "1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0",
    # A sample row of an e-licence catalogue table (a Jilin issuer).
    "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F",
    # A completion-acceptance filing of 济宁市行政审批服务局 in a public integration payload.
    "1.2.156.3005.2.11100000000013338W087.11370800MB28559184.37080001202411010001.001.3",
)


@pytest.mark.parametrize("text", PUBLISHED_E_LICENCES)
def test_published_e_licence_ids_parse_and_print_unchanged(text: str) -> None:
    assert str(ELicenceId.parse(text)) == text


def test_issuing_the_parts_of_a_published_e_licence_id_gives_its_check_character() -> None:
    issuer = CreditCode.parse("11430000006122244L")
    licence = ELicenceId.issue("11100000000013338W011", issuer, "20230000403", 2)
    assert str(licence) == PUBLISHED_E_LICENCES[0]
    assert licence.check_char == mod37_36_check_char(
        "11100000000013338W01111430000006122244L20230000403002"
    )


def test_the_check_character_leaves_out_the_root() -> None:
    # Over the whole identifier, root included, the check character would be '5'.
    with_root = "1215630052" + "11100000000013338W011" + "11430000006122244L" + "20230000403002"
    assert mod37_36_check_char(with_root) == "5"
    with pytest.raises(InvalidInput) as error:
        ELicenceId.parse(PUBLISHED_E_LICENCES[0][:-1] + "5")
    assert reason_of(error) == (
        "check character is '5' but licence type, issuer, serial and version give 'S' "
        "(ISO 7064 MOD 37,36)"
    )


@pytest.mark.parametrize("text", PUBLISHED_E_LICENCES)
def test_every_one_character_corruption_of_a_published_e_licence_id_is_refused(
    text: str,
) -> None:
    root = len(E_LICENCE_ROOT) + 1
    accepted = [
        corrupted
        for index in range(root, len(text))
        if text[index] != "."
        for char in ALPHANUMERIC
        if char != text[index]
        if _parses(corrupted := replaced(text, index, char))
    ]
    assert accepted == []


def _parses(text: str) -> bool:
    try:
        ELicenceId.parse(text)
    except InvalidInput:
        return False
    return True


def test_a_corrupted_serial_is_refused_naming_the_expected_check_character() -> None:
    corrupted = PUBLISHED_E_LICENCES[2].replace(".2025052201.", ".2025052202.")
    with pytest.raises(InvalidInput) as error:
        ELicenceId.parse(corrupted, "licence_id")
    assert error.value.violations[0].field == "licence_id"
    expected = mod37_36_check_char("11100000000013338W00911330105002500287C2025052202002")
    assert expected != "0"
    assert reason_of(error) == (
        f"check character is '0' but licence type, issuer, serial and version give "
        f"{expected!r} (ISO 7064 MOD 37,36)"
    )


def test_a_lower_case_check_character_is_refused_naming_the_expected_one() -> None:
    with pytest.raises(InvalidInput) as error:
        ELicenceId.parse(PUBLISHED_E_LICENCES[3][:-1] + "f")
    assert reason_of(error) == (
        "check character must be one digit or upper-case letter A-Z, got 'f' (expected 'F')"
    )


def test_an_e_licence_id_with_a_two_character_check_is_refused() -> None:
    with pytest.raises(InvalidInput) as error:
        ELicenceId.parse(PUBLISHED_E_LICENCES[3] + "F")
    assert "got 'FF'" in reason_of(error)


def test_issued_e_licence_id_has_the_standard_shape() -> None:
    licence = ELicenceId.issue("11100000000013127D001", ISSUER, "37000020190000001", 1)
    fields = "11100000000013127D001.91350100M000100Y43.37000020190000001.001"
    check = mod37_36_check_char(fields.replace(".", ""))
    assert str(licence) == f"1.2.156.3005.2.{fields}.{check}"


def test_e_licence_id_with_a_wrong_check_character_is_rejected() -> None:
    licence = ELicenceId.issue("L01", ISSUER, "7", 2)
    wrong = "0" if licence.check_char != "0" else "1"
    with pytest.raises(InvalidInput) as error:
        ELicenceId.parse(str(licence)[:-1] + wrong)
    assert reason_of(error) == (
        f"check character is {wrong!r} but licence type, issuer, serial and version give "
        f"{licence.check_char!r} (ISO 7064 MOD 37,36)"
    )


def test_e_licence_id_outside_the_root_arc_is_rejected() -> None:
    with pytest.raises(InvalidInput) as error:
        ELicenceId.parse("1.2.156.3005.3.L01.91350100M000100Y43.7.002.X")
    assert reason_of(error) == "must start with 1.2.156.3005.2."


def test_e_licence_id_with_a_missing_part_is_rejected() -> None:
    with pytest.raises(InvalidInput) as error:
        ELicenceId.parse("1.2.156.3005.2.L01.91350100M000100Y43.002.X")
    assert "got 4" in reason_of(error)


def test_e_licence_id_with_a_bad_issuer_is_rejected() -> None:
    with pytest.raises(InvalidInput) as error:
        ELicenceId.parse("1.2.156.3005.2.L01.91350100M000100Y44.7.002.X")
    assert reason_of(error).startswith("issuer credit code: check character is '4'")


def test_e_licence_id_with_a_two_digit_version_is_rejected() -> None:
    with pytest.raises(InvalidInput) as error:
        ELicenceId.parse("1.2.156.3005.2.L01.91350100M000100Y43.7.02.X")
    assert reason_of(error) == "version must be 3 digits, got '02'"


def test_e_licence_id_with_a_lower_case_serial_is_refused_at_issue() -> None:
    with pytest.raises(InvalidInput) as error:
        ELicenceId.issue("L01", ISSUER, "abc", 1)
    assert reason_of(error) == "serial 'abc' must contain only digits and upper-case letters A-Z"


def test_e_licence_id_with_a_four_digit_version_is_refused_at_issue() -> None:
    with pytest.raises(InvalidInput):
        ELicenceId.issue("L01", ISSUER, "1", 1000)


e_licences = st.builds(
    ELicenceId.issue,
    st.text(ALPHANUMERIC, min_size=1, max_size=24),
    credit_codes,
    st.text(ALPHANUMERIC, min_size=1, max_size=24),
    st.integers(0, 999),
)


@given(e_licences)
def test_issued_e_licence_id_parses_back_to_itself(licence: ELicenceId) -> None:
    assert ELicenceId.parse(str(licence)) == licence


@given(e_licences, st.data())
def test_changing_one_character_of_an_e_licence_id_is_rejected(
    licence: ELicenceId, data: st.DataObject
) -> None:
    text = str(licence)
    positions = [i for i, c in enumerate(text) if c != "."]
    index = data.draw(st.sampled_from(positions))
    char = data.draw(st.sampled_from(ALPHANUMERIC).filter(lambda c: c != text[index]))
    with pytest.raises(InvalidInput):
        ELicenceId.parse(replaced(text, index, char))
