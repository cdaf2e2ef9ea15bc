"""Who may have written each event of a case's trail.

A case has one owner at a time (`Case.writable_by`): every event is written by
the node that owned the case when it was written, except the answer to a
handover (accepted or rejected), which the node the case was offered to writes.
A trail delivered by another node is held to that rule before anything of it is
stored, so a node cannot pass off events as those of a node that never held the
case; and the node delivering it must be one that owned the case.

The chain of hashes proves that a trail was not changed after it was written; the
rule here decides whether its authors are plausible at all. Folding is enough:
the same `Case` the ledger builds decides who owned the case at each version.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from caseledger.ledger.case.events import CaseEvent


@dataclass(frozen=True)
class Unauthored:
    """The first event whose author could not have written it."""

    version: int
    author: str
    owner: str
    reason: str


@dataclass(frozen=True)
class Authorship:
    owners: tuple[str, ...]
    """Every node that owned the case over the trail, in order."""
    unauthored: Unauthored | None


def authorship(events: Iterable[Any]) -> Authorship:
    """Check a case's decoded events, from version 1 in order, against the rule."""
    case: Any = None
    for event in events:
        if not isinstance(event, CaseEvent):
            continue
        if case is not None:
            allowed = {case.owner} | ({case.transfer_to} if case.transfer_to else set())
            if event.node not in allowed:
                holder = case.owner if not case.transfer_to else f"{case.owner}→{case.transfer_to}"
                return Authorship(
                    tuple(case.owners),
                    Unauthored(
                        event.originator_version,
                        event.node,
                        holder,
                        f"version {event.originator_version} names {event.node} as its author, "
                        f"but the case was held by {holder} then",
                    ),
                )
        case = event.mutate(case)
    return Authorship(tuple(case.owners) if case is not None else (), None)
