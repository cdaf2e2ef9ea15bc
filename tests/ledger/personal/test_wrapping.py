"""A subject key wrapped for one node opens there only, for its own case and subject."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from caseledger.ledger.personal.wrapping import UnwrapFailed, unwrap, wrap

CASE = "0b6f2a3c-8a43-4a6b-9d55-3f9a0e6b1c11"
SUBJECT = "5f0c1c1e0d6a4f7e8b9a0c1d2e3f4a5b"


def test_the_receiving_node_opens_the_key_it_was_sent() -> None:
    county = X25519PrivateKey.generate()
    key = os.urandom(32)
    wrapped = wrap(key, case=CASE, subject=SUBJECT, recipient=county.public_key())
    assert unwrap(wrapped, case=CASE, subject=SUBJECT, private=county) == key
    assert key not in wrapped


def test_another_node_cannot_open_it() -> None:
    county, other = X25519PrivateKey.generate(), X25519PrivateKey.generate()
    wrapped = wrap(os.urandom(32), case=CASE, subject=SUBJECT, recipient=county.public_key())
    with pytest.raises(UnwrapFailed):
        unwrap(wrapped, case=CASE, subject=SUBJECT, private=other)


@pytest.mark.parametrize(
    ("case", "subject"), [("another-case", SUBJECT), (CASE, "another-subject")]
)
def test_it_does_not_open_for_another_case_or_subject(case: str, subject: str) -> None:
    county = X25519PrivateKey.generate()
    wrapped = wrap(os.urandom(32), case=CASE, subject=SUBJECT, recipient=county.public_key())
    with pytest.raises(UnwrapFailed):
        unwrap(wrapped, case=case, subject=subject, private=county)


@pytest.mark.parametrize("cut", [0, 10, 44, -1])
def test_a_changed_or_cut_wrapping_does_not_open(cut: int) -> None:
    county = X25519PrivateKey.generate()
    wrapped = bytearray(
        wrap(os.urandom(32), case=CASE, subject=SUBJECT, recipient=county.public_key())
    )
    wrapped[cut] ^= 0x01
    with pytest.raises(UnwrapFailed):
        unwrap(bytes(wrapped), case=CASE, subject=SUBJECT, private=county)
    with pytest.raises(UnwrapFailed):
        unwrap(bytes(wrapped[:44]), case=CASE, subject=SUBJECT, private=county)
