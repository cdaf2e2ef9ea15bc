"""RFC 6962 / RFC 9162 Merkle tree hashing, proofs and their verification.

A tree is read through its complete subtrees: `Subtrees.subtree(level, index)`
is the hash of the leaves `[index * 2**level, (index + 1) * 2**level)`. Every
range the RFC's recursion splits a tree into starts at 0 or right after a
left part whose size is a power of two, so it is a run of such aligned
subtrees; a store that keeps every complete subtree (`append_nodes`) answers
any head or proof at any size up to its own in O(log n) look-ups.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""The root of the tree of no leaves (RFC 6962 section 2.1)."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


class Subtrees(Protocol):
    def subtree(self, level: int, index: int) -> bytes:
        """The hash of the complete subtree of 2**level leaves at `index`."""
        ...


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def range_hash(tree: Subtrees, start: int, end: int) -> bytes:
    """MTH of the leaves [start, end); `start` is aligned as the recursion keeps it."""
    size = end - start
    if size == 0:
        return EMPTY_ROOT
    if size & (size - 1) == 0:
        level = size.bit_length() - 1
        return tree.subtree(level, start >> level)
    k = _split(size)
    return node_hash(range_hash(tree, start, start + k), range_hash(tree, start + k, end))


def root(tree: Subtrees, size: int) -> bytes:
    return range_hash(tree, 0, size)


def inclusion_proof(tree: Subtrees, index: int, size: int) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 6962 section 2.1.1."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")
    proof: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            proof.append(range_hash(tree, start + k, end))
            end = start + k
        else:
            proof.append(range_hash(tree, start, start + k))
            start += k
    proof.reverse()
    return proof


def consistency_proof(tree: Subtrees, old: int, new: int) -> list[bytes]:
    """PROOF(old, D[0:new]) of RFC 6962 section 2.1.2; empty for 0 or equal sizes."""
    if not 0 <= old <= new:
        raise ValueError(f"no consistency proof from {old} to {new}")
    if old in (0, new):
        return []
    proof: list[bytes] = []
    start, end, complete = 0, new, True
    # SUBPROOF(m, D[start:end], complete), unrolled; m counts from `start`.
    m = old
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            proof.append(range_hash(tree, start + k, end))
            end = start + k
        else:
            proof.append(range_hash(tree, start, start + k))
            start += k
            m -= k
            complete = False
    if not complete:
        proof.append(range_hash(tree, start, end))
    proof.reverse()
    return proof


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], expected_root: bytes
) -> bool:
    """RFC 9162 section 2.1.3.2: whether `leaf` (a leaf hash) is leaf `index`
    of the tree of `size` whose root is `expected_root`."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == expected_root


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 section 2.1.4.2: whether the tree of `new` leaves with
    `new_root` extends the tree of `old` leaves with `old_root`."""
    if not 0 <= old <= new:
        return False
    if old == new:
        return not proof and old_root == new_root
    if old == 0:
        return not proof
    if not proof:
        return False
    path = list(proof)
    if old & (old - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


def append_nodes(tree: Subtrees, size: int, leaf: bytes) -> list[tuple[int, int, bytes]]:
    """The complete subtrees that appending `leaf` (a leaf hash) to a tree of
    `size` leaves completes, as (level, index, hash), lowest first. The left
    siblings read are all on the tree's right edge (its frontier)."""
    completed = [(0, size, leaf)]
    level, index, current = 0, size, leaf
    while index & 1:
        current = node_hash(tree.subtree(level, index - 1), current)
        level += 1
        index >>= 1
        completed.append((level, index, current))
    return completed


def frontier_positions(size: int) -> list[tuple[int, int]]:
    """The (level, index) of the complete subtrees on the right edge of a tree
    of `size` leaves, largest first: one per set bit of `size`."""
    positions = []
    start = 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            positions.append((level, start >> level))
            start += 1 << level
    return positions


class LeafList:
    """Subtrees over leaf hashes held in memory, each subtree hashed when asked."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self.leaves = leaves

    def subtree(self, level: int, index: int) -> bytes:
        if level == 0:
            return self.leaves[index]
        return node_hash(self.subtree(level - 1, 2 * index), self.subtree(level - 1, 2 * index + 1))


class MemoryTree:
    """Subtrees kept as they complete: the in-memory form of a tree store."""

    def __init__(self) -> None:
        self.size = 0
        self.nodes: dict[tuple[int, int], bytes] = {}

    def subtree(self, level: int, index: int) -> bytes:
        return self.nodes[level, index]

    def append(self, leaf: bytes) -> None:
        for level, index, value in append_nodes(self, self.size, leaf):
            self.nodes[level, index] = value
        self.size += 1
