"""Comparing the copies of a trail held at several nodes: the node and the
version where they part, and nothing where they agree."""

from __future__ import annotations

from caseledger.cli.audit.copies import compare_copies

A, B, C = "a:1", "b:2", "c:3"


def copy(*hashes: str) -> list[tuple[int, str]]:
    return [(version, hash_) for version, hash_ in enumerate(hashes, start=1)]


def test_equal_copies_part_nowhere() -> None:
    assert compare_copies({A: copy("x", "y"), B: copy("x", "y")}) == []


def test_a_shorter_copy_is_named_with_the_first_version_it_lacks() -> None:
    (found,) = compare_copies({A: copy("x"), B: copy("x", "y", "z")})
    assert (found.node, found.version) == (A, 2)
    assert found.reason.endswith(f"{A} lacks versions 2..3")


def test_copies_that_differ_are_named_at_the_first_version_they_differ() -> None:
    (found,) = compare_copies({A: copy("x", "y", "z"), B: copy("x", "Y", "Z")})
    assert (found.node, found.version) == (A, 2)
    assert f"{A} and {B} hold different copies of version 2" in found.reason


def test_a_node_holding_nothing_lacks_everything() -> None:
    (found,) = compare_copies({A: copy("x", "y"), B: []})
    assert (found.node, found.version) == (B, 1)


def test_each_pair_is_compared_once() -> None:
    found = compare_copies({A: copy("x"), B: copy("y"), C: copy("x")})
    assert sorted((d.node, d.version) for d in found) == [(A, 1), (B, 1)]
