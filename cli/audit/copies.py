"""Comparing the copies of one case's trail that several nodes hold.

Every node that holds a case must end up with the same trail (each owner's
ancestors by replication, earlier owners by the courier). A node whose copy
is shorter than another's holds less than it should (events deleted there,
or never delivered), and two copies that differ at a version are two
histories: at most one can be the case's. Each node's copy is verified on
its own first (`trail.verify_trail`); this compares them with each other,
by version and hash, and names the node and the version where they part.
A node that does not hold the case at all holds the shortest copy of all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

_SHORT_HASH = 12


@dataclass(frozen=True)
class Difference:
    """Where the copy held at `node` parts from another node's copy."""

    node: str
    version: int
    reason: str


def compare_copies(copies: Mapping[str, Sequence[tuple[int, str]]]) -> list[Difference]:
    """Every place the copies part: (version, hash) pairs per node, in node order.

    For each pair of nodes, the first version they both hold with different
    hashes; for each node whose copy is shorter than the longest, the
    first version it lacks."""
    found: list[Difference] = []
    nodes = list(copies)
    for index, node in enumerate(nodes):
        mine = dict(copies[node])
        for other in nodes[index + 1 :]:
            theirs = dict(copies[other])
            for version in sorted(mine.keys() & theirs.keys()):
                if mine[version] != theirs[version]:
                    found.append(
                        Difference(
                            node,
                            version,
                            f"{node} and {other} hold different copies of version {version}: "
                            f"{_short(mine[version])} and {_short(theirs[version])}",
                        )
                    )
                    break
    longest = max(nodes, key=lambda n: len(copies[n]), default=None)
    if longest is not None:
        most = len(copies[longest])
        for node in nodes:
            held = len(copies[node])
            if held < most:
                lacks = f"version {most}" if held + 1 == most else f"versions {held + 1}..{most}"
                found.append(
                    Difference(
                        node,
                        held + 1,
                        f"{node} holds {held} events of the case and {longest} holds {most}: "
                        f"{node} lacks {lacks}",
                    )
                )
    return found


def _short(hash_: str) -> str:
    return hash_[:_SHORT_HASH] + "…" if len(hash_) > _SHORT_HASH else hash_
