"""RFC 6962 Merkle hashing and RFC 9162 proof verification, for the auditor.

Written from docs/audit.md and the RFCs, sharing nothing with the node's
code: a node whose tree code were wrong must not be judged by the same code.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def interior(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def tree_head(leaves: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes, folding complete subtrees on a stack as they form."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    stack: list[tuple[int, bytes]] = []  # (number of leaves, hash)
    for leaf in leaves:
        width, value = 1, leaf
        while stack and stack[-1][0] == width:
            left_width, left = stack.pop()
            width, value = left_width + width, interior(left, value)
        stack.append((width, value))
    # What is left are complete subtrees, largest first: join them from the right.
    value = stack[-1][1]
    for _, left in reversed(stack[:-1]):
        value = interior(left, value)
    return value


def included(leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 section 2.1.3.2."""
    if index < 0 or index >= size:
        return False
    node, last, value = index, size - 1, leaf
    for sibling in path:
        if last == 0:
            return False
        if node % 2 == 1 or node == last:
            value = interior(sibling, value)
            if node % 2 == 0:
                while node != 0 and node % 2 == 0:
                    node //= 2
                    last //= 2
        else:
            value = interior(value, sibling)
        node //= 2
        last //= 2
    return last == 0 and value == root


def consistent(
    first: int, second: int, first_root: bytes, second_root: bytes, path: Sequence[bytes]
) -> bool:
    """RFC 9162 section 2.1.4.2, with the trivial cases of equal and empty trees."""
    if first < 0 or first > second:
        return False
    if first == second:
        return len(path) == 0 and first_root == second_root
    if first == 0:
        return len(path) == 0
    steps = list(path)
    if not steps:
        return False
    if first & (first - 1) == 0:
        steps = [first_root, *steps]
    node, last = first - 1, second - 1
    while node % 2 == 1:
        node //= 2
        last //= 2
    old = new = steps[0]
    for sibling in steps[1:]:
        if last == 0:
            return False
        if node % 2 == 1 or node == last:
            old = interior(sibling, old)
            new = interior(sibling, new)
            if node % 2 == 0:
                while node != 0 and node % 2 == 0:
                    node //= 2
                    last //= 2
        else:
            new = interior(new, sibling)
        node //= 2
        last //= 2
    return last == 0 and old == first_root and new == second_root
