from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caseledger.ledger.codes.division import PROVINCES, DivisionCode, Level, TownshipKind
from caseledger.ledger.errors import InvalidInput

SHANDONG = "370000"
JINAN = "370100"
LIXIA = "370102"
PINGYIN = "370124"
JIEFANGLU = "370102001000"
DONGE = "370124102000"


def reason_of(error: pytest.ExceptionInfo[InvalidInput]) -> str:
    (violation,) = error.value.violations
    return violation.reason


@pytest.mark.parametrize(
    ("text", "level", "prefix"),
    [
        (SHANDONG, Level.PROVINCE, "37"),
        (JINAN, Level.CITY, "3701"),
        (LIXIA, Level.COUNTY, "370102"),
        (PINGYIN, Level.COUNTY, "370124"),
        (JIEFANGLU, Level.TOWNSHIP, "370102001"),
        (DONGE, Level.TOWNSHIP, "370124102"),
    ],
)
def test_real_shandong_codes_parse_with_their_level_and_prefix(
    text: str, level: Level, prefix: str
) -> None:
    code = DivisionCode.parse(text)
    assert code.level is level
    assert code.prefix == prefix


def test_six_digit_code_is_held_as_twelve_digits() -> None:
    assert str(DivisionCode.parse(LIXIA)) == "370102000000"


def test_six_and_twelve_digit_forms_of_one_division_are_equal() -> None:
    assert DivisionCode.parse(LIXIA) == DivisionCode.parse("370102000000")


def test_gbt2260_form_of_a_township_is_its_county_code() -> None:
    assert DivisionCode.parse(JIEFANGLU).gbt2260 == LIXIA


def test_parent_chain_of_a_street_climbs_to_the_province() -> None:
    street = DivisionCode.parse(JIEFANGLU)
    assert [str(c) for c in street.ancestors()] == [
        "370102000000",
        "370100000000",
        "370000000000",
    ]


def test_province_has_no_parent() -> None:
    assert DivisionCode.parse(SHANDONG).parent is None


def test_township_directly_under_a_city_has_the_city_as_parent() -> None:
    # 东莞市 has no counties: its streets and towns sit under 441900.
    dongcheng = DivisionCode.parse("441900003000")
    assert dongcheng.level is Level.TOWNSHIP
    assert dongcheng.parent == DivisionCode.parse("441900")


def test_province_contains_a_township_in_it() -> None:
    assert DivisionCode.parse(SHANDONG).contains(DivisionCode.parse(DONGE))


def test_county_does_not_contain_a_township_of_another_county() -> None:
    assert not DivisionCode.parse(LIXIA).contains(DivisionCode.parse(DONGE))


def test_township_does_not_contain_its_county() -> None:
    assert not DivisionCode.parse(DONGE).contains(DivisionCode.parse(PINGYIN))


def test_a_division_contains_itself() -> None:
    assert DivisionCode.parse(JINAN).contains(DivisionCode.parse(JINAN))


def test_township_kind_follows_the_township_part_range() -> None:
    assert DivisionCode.parse(JIEFANGLU).township_kind is TownshipKind.STREET
    assert DivisionCode.parse(DONGE).township_kind is TownshipKind.TOWN
    assert DivisionCode.parse("370124201000").township_kind is TownshipKind.TOWNSHIP


def test_county_has_no_township_kind() -> None:
    assert DivisionCode.parse(PINGYIN).township_kind is None


@pytest.mark.parametrize("part", ["400", "599", "999"])
def test_township_part_above_399_is_rejected(part: str) -> None:
    with pytest.raises(InvalidInput) as error:
        DivisionCode.parse(f"370102{part}000")
    assert f"township part {part} is outside 001-399" in reason_of(error)


@pytest.mark.parametrize("text", ["000000", "990000", "160000", "380100"])
def test_code_outside_the_gbt2260_provinces_is_rejected(text: str) -> None:
    with pytest.raises(InvalidInput) as error:
        DivisionCode.parse(text)
    assert "is not a GB/T 2260 province code" in reason_of(error)


def test_village_level_code_is_rejected() -> None:
    with pytest.raises(InvalidInput) as error:
        DivisionCode.parse("370102001001")
    assert "village part 001 must be 000" in reason_of(error)


@pytest.mark.parametrize("text", ["37", "3701020", "370102001", "3701020010000"])
def test_code_of_neither_six_nor_twelve_digits_is_rejected(text: str) -> None:
    with pytest.raises(InvalidInput) as error:
        DivisionCode.parse(text)
    assert reason_of(error) == f"must be 6 or 12 digits, got {len(text)} characters"


@pytest.mark.parametrize("text", ["37010A", "３７０１０２", "3701 2", "-37010"])
def test_code_with_anything_but_ascii_digits_is_rejected(text: str) -> None:
    with pytest.raises(InvalidInput) as error:
        DivisionCode.parse(text)
    assert reason_of(error) == "must contain only the digits 0-9"


def test_rejection_names_the_field_given() -> None:
    with pytest.raises(InvalidInput) as error:
        DivisionCode.parse("x", field="node.code")
    assert error.value.violations[0].field == "node.code"


def test_constructor_refuses_the_six_digit_form() -> None:
    with pytest.raises(InvalidInput):
        DivisionCode(LIXIA)


@pytest.mark.parametrize(
    ("prefix", "code"),
    [("37", SHANDONG), ("3701", JINAN), ("370124", PINGYIN), ("370102001", JIEFANGLU)],
)
def test_from_prefix_builds_the_division_with_that_prefix(prefix: str, code: str) -> None:
    assert DivisionCode.from_prefix(prefix) == DivisionCode.parse(code)


def test_from_prefix_refuses_a_prefix_ending_in_a_zero_part() -> None:
    with pytest.raises(InvalidInput) as error:
        DivisionCode.from_prefix("370100")
    assert "the significant prefix is 3701" in reason_of(error)


def test_from_prefix_refuses_a_length_that_is_no_level() -> None:
    with pytest.raises(InvalidInput) as error:
        DivisionCode.from_prefix("370")
    assert reason_of(error) == "must be 2, 4, 6 or 9 digits, got 3 characters"


def test_province_property_gives_the_enclosing_province() -> None:
    assert DivisionCode.parse(DONGE).province == DivisionCode.parse(SHANDONG)


divisions = st.builds(
    lambda province, city, county, township: DivisionCode(
        f"{province:02d}{city:02d}{county:02d}{township:03d}000"
    ),
    st.sampled_from(sorted(PROVINCES)),
    st.integers(0, 99),
    st.integers(0, 99),
    st.one_of(st.just(0), st.integers(1, 399)),
)


@given(divisions)
def test_parent_contains_its_child_and_has_a_shorter_prefix(code: DivisionCode) -> None:
    parent = code.parent
    if parent is None:
        assert code.level is Level.PROVINCE
    else:
        assert parent.contains(code)
        assert not code.contains(parent)
        assert len(parent.prefix) < len(code.prefix)


@given(divisions)
def test_from_prefix_of_a_code_prefix_gives_the_code_back(code: DivisionCode) -> None:
    assert DivisionCode.from_prefix(code.prefix) == code


@given(divisions)
def test_every_ancestor_contains_the_code(code: DivisionCode) -> None:
    assert all(ancestor.contains(code) for ancestor in code.ancestors())
    assert code.ancestors()[-1:] in ((), (code.province,))


@given(divisions)
def test_parsing_the_canonical_text_gives_the_code_back(code: DivisionCode) -> None:
    assert DivisionCode.parse(str(code)) == code
