"""The canonical encoding: RFC 8785 on the values events hold."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caseledger.ledger.trail.canonical import NotCanonical, canonical_json, fast_canonical_json

_ascii_names = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=8)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_ascii_names, inner, max_size=4),
    max_leaves=20,
)


@given(_values)
def test_the_fast_encoder_gives_the_reference_bytes(value: Any) -> None:
    assert fast_canonical_json(value) == canonical_json(value)


@given(_values)
def test_the_encoding_parses_back_to_the_same_value(value: Any) -> None:
    assert json.loads(canonical_json(value)) == value


def test_members_are_sorted_and_nothing_is_spaced() -> None:
    assert (
        canonical_json({"b": [1, True, None], "a": "济南"})
        == '{"a":"济南","b":[1,true,null]}'.encode()
    )


def test_control_characters_use_the_short_escapes_then_lowercase_hex() -> None:
    assert canonical_json('a\n\t\x01"\\') == b'"a\\n\\t\\u0001\\"\\\\"'


def test_members_sort_by_utf16_code_units_not_code_points() -> None:
    # U+1F600 is D83D DE00 in UTF-16, which sorts before U+FF5E (FF5E).
    assert canonical_json({"\uff5e": 1, "\U0001f600": 2}) == '{"\U0001f600":2,"\uff5e":1}'.encode()


@pytest.mark.parametrize("value", [1.5, 2**53, {"x": float("nan")}, "\ud800"])
def test_values_without_an_exact_encoding_are_refused(value: Any) -> None:
    with pytest.raises(NotCanonical):
        canonical_json(value)
