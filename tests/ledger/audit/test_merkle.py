"""The Merkle module against a naive reading of RFC 6962 section 2.1, and the
roots of the RFC 6962 test leaves as published with the CT reference code."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caseledger.ledger.audit import merkle

# The test leaves of the Certificate Transparency reference implementation.
RFC_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    bytes(range(0x60, 0x70)),
]
RFC_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


# -- the reference: RFC 6962 section 2.1 read literally, over leaf data -------


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(data: list[bytes]) -> bytes:
    if not data:
        return hashlib.sha256(b"").digest()
    if len(data) == 1:
        return hashlib.sha256(b"\x00" + data[0]).digest()
    k = _k(len(data))
    return hashlib.sha256(b"\x01" + mth(data[:k]) + mth(data[k:])).digest()


def path(m: int, data: list[bytes]) -> list[bytes]:
    if len(data) == 1:
        return []
    k = _k(len(data))
    if m < k:
        return [*path(m, data[:k]), mth(data[k:])]
    return [*path(m - k, data[k:]), mth(data[:k])]


def subproof(m: int, data: list[bytes], b: bool) -> list[bytes]:
    n = len(data)
    if m == n:
        return [] if b else [mth(data)]
    k = _k(n)
    if m <= k:
        return [*subproof(m, data[:k], b), mth(data[k:])]
    return [*subproof(m - k, data[k:], False), mth(data[:k])]


def stored(data: list[bytes]) -> merkle.MemoryTree:
    tree = merkle.MemoryTree()
    for d in data:
        tree.append(merkle.leaf_hash(d))
    return tree


leaf_data = st.lists(st.binary(max_size=8), min_size=1, max_size=70)


def test_the_rfc_test_leaves_give_the_published_roots() -> None:
    tree = stored(RFC_LEAVES)
    for size, expected in enumerate(RFC_ROOTS, start=1):
        assert merkle.root(tree, size).hex() == expected
        assert mth(RFC_LEAVES[:size]).hex() == expected


def test_the_empty_tree_has_the_hash_of_nothing_as_root() -> None:
    assert merkle.root(merkle.MemoryTree(), 0) == hashlib.sha256(b"").digest()


@settings(deadline=None)
@given(leaf_data)
def test_an_incrementally_kept_tree_has_the_reference_root_at_every_size(
    data: list[bytes],
) -> None:
    tree = stored(data)
    leaves = merkle.LeafList([merkle.leaf_hash(d) for d in data])
    for size in range(len(data) + 1):
        assert merkle.root(tree, size) == mth(data[:size])
        assert merkle.root(leaves, size) == mth(data[:size])


@settings(deadline=None)
@given(leaf_data, st.data())
def test_inclusion_proofs_are_the_reference_paths_and_verify(
    data: list[bytes], draw: st.DataObject
) -> None:
    tree = stored(data)
    size = draw.draw(st.integers(1, len(data)))
    index = draw.draw(st.integers(0, size - 1))
    proof = merkle.inclusion_proof(tree, index, size)
    assert proof == path(index, data[:size])
    head = mth(data[:size])
    leaf = merkle.leaf_hash(data[index])
    assert merkle.verify_inclusion(leaf, index, size, proof, head)
    other = merkle.leaf_hash(b"other" + data[index])
    assert not merkle.verify_inclusion(other, index, size, proof, head)


@settings(deadline=None)
@given(leaf_data, st.data())
def test_consistency_proofs_are_the_reference_proofs_and_verify(
    data: list[bytes], draw: st.DataObject
) -> None:
    tree = stored(data)
    new = draw.draw(st.integers(1, len(data)))
    old = draw.draw(st.integers(1, new))
    proof = merkle.consistency_proof(tree, old, new)
    assert proof == ([] if old == new else subproof(old, data[:new], True))
    old_root, new_root = mth(data[:old]), mth(data[:new])
    assert merkle.verify_consistency(old, new, old_root, new_root, proof)
    forged = hashlib.sha256(old_root).digest()
    assert not merkle.verify_consistency(old, new, forged, new_root, proof)
    assert not merkle.verify_consistency(old, new, old_root, forged, proof)


@settings(deadline=None)
@given(leaf_data, st.data())
def test_a_changed_leaf_breaks_consistency_with_the_old_head(
    data: list[bytes], draw: st.DataObject
) -> None:
    new = len(data)
    old = draw.draw(st.integers(1, new))
    changed = list(data)
    position = draw.draw(st.integers(0, old - 1))
    changed[position] = b"rewritten" + changed[position]
    proof = merkle.consistency_proof(stored(changed), old, new)
    assert not merkle.verify_consistency(old, new, mth(data[:old]), mth(changed), proof)


def test_a_leaf_beyond_the_tree_has_no_proof() -> None:
    with pytest.raises(ValueError, match="not in a tree"):
        merkle.inclusion_proof(stored(RFC_LEAVES), 8, 8)
    assert not merkle.verify_inclusion(merkle.leaf_hash(b""), 3, 3, [], merkle.EMPTY_ROOT)


def test_the_frontier_is_one_subtree_per_set_bit_of_the_size() -> None:
    assert merkle.frontier_positions(0) == []
    assert merkle.frontier_positions(1) == [(0, 0)]
    assert merkle.frontier_positions(6) == [(2, 0), (1, 2)]
    assert merkle.frontier_positions(7) == [(2, 0), (1, 2), (0, 6)]
