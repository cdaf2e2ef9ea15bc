"""Edges of the canonical encoding and the hash chain that the main tests leave open."""

from __future__ import annotations

import pytest

from caseledger.ledger.trail.canonical import GENESIS, NotCanonical, canonical_json, digest


def test_the_prev_of_a_first_event_is_a_sha256_of_zero_bytes_in_hex() -> None:
    assert bytes(32).hex() == GENESIS
    assert len(digest({})) == len(GENESIS)


@pytest.mark.parametrize("code_point", [0xD800, 0xDBFF, 0xDC00, 0xDFFF])
def test_every_lone_surrogate_is_refused(code_point: int) -> None:
    with pytest.raises(NotCanonical, match="lone surrogate"):
        canonical_json(f"a{chr(code_point)}b")


def test_a_hash_over_a_value_without_an_exact_encoding_is_refused() -> None:
    with pytest.raises(ValueError, match="JSON compliant"):
        digest({"x": float("nan")})
