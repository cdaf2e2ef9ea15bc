"""The auditor's own Merkle code agrees with a literal reading of RFC 6962
(the reference in tests/ledger/audit) and refuses what does not verify."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from caseledger.cli.audit import merkle
from tests.ledger.audit.test_merkle import RFC_LEAVES, RFC_ROOTS, mth, path, subproof

leaf_data = st.lists(st.binary(max_size=8), min_size=1, max_size=70)


def test_the_rfc_test_leaves_give_the_published_roots() -> None:
    for size, expected in enumerate(RFC_ROOTS, start=1):
        leaves = [merkle.leaf_hash(d) for d in RFC_LEAVES[:size]]
        assert merkle.tree_head(leaves).hex() == expected


@settings(deadline=None)
@given(leaf_data, st.data())
def test_reference_proofs_verify_and_altered_ones_do_not(
    data: list[bytes], draw: st.DataObject
) -> None:
    leaves = [merkle.leaf_hash(d) for d in data]
    assert merkle.tree_head(leaves) == mth(data)
    size = draw.draw(st.integers(1, len(data)))
    index = draw.draw(st.integers(0, size - 1))
    root = mth(data[:size])
    proof = path(index, data[:size])
    assert merkle.included(leaves[index], index, size, proof, root)
    assert not merkle.included(hashlib.sha256(leaves[index]).digest(), index, size, proof, root)
    old = draw.draw(st.integers(1, size))
    consistency = [] if old == size else subproof(old, data[:size], True)
    assert merkle.consistent(old, size, mth(data[:old]), root, consistency)
    forged = hashlib.sha256(root).digest()
    assert not merkle.consistent(old, size, mth(data[:old]), forged, consistency)
