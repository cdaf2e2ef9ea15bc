"""Seeding a witness from the events a node already holds (docs/audit.md,
"A witness turned on late").

A node that replicated a source before it witnessed it holds the source's
first events, but not their leaves: its witness would wait for positions it
will never be sent again. `authored_leaves` takes them from the node's store
of received events instead: every event the source authored, in the order
the node received them, as the leaves at positions 1, 2, ... That is the
source's log order when they came over its log stream; over Kafka they come
by partition, in another order. The witness takes them only when they
reproduce a checkpoint the source signed (`Witness`), so a guess that is
wrong (events that came over Kafka, an event of the source that came another
way, a revision with no author recorded) seeds nothing and the witness waits
as before: never a fork.

The author of a received event: a case event's `node`; a number claim's is
the author of the case's submission; a catalogue item's `publisher`; a key
rotation's `node`. A catalogue revision names no author and is never taken.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from caseledger.ledger import names
from caseledger.ledger.audit.leaves import UnhashableEvent, event_leaf
from caseledger.ledger.errors import UnknownEventName

_PAGE = 1000
_CLAIMED = "caseledger.numbering.CaseNumberClaimed"
_SUBMITTED = "caseledger.case.Submitted"
_AUTHOR_FIELD = {
    "caseledger.catalogue.ItemPublished": "publisher",
    "caseledger.audit.KeyRotated": "node",
}


class Notifications(Protocol):
    def select_notifications(self, start: int, limit: int) -> Any: ...


@dataclass(frozen=True)
class _Received:
    name: str
    originator_id: str
    version: int
    state: bytes
    author: str  # '' for a number claim until its case's is known
    case: str  # a number claim's case


def _received(recorder: Notifications) -> Iterator[_Received]:
    start = 1
    while True:
        page = recorder.select_notifications(start, _PAGE)
        if not page:
            return
        for n in page:
            try:
                name = names.stable_name(n.topic)
                state = json.loads(n.state)
            except (UnknownEventName, ValueError):
                continue
            if not isinstance(state, dict):
                continue
            if name in names.CASE_EVENT_NAMES:
                author = str(state.get("node", ""))
            else:
                author = str(state.get(_AUTHOR_FIELD.get(name, ""), ""))
            case = _case_of(state) if name == _CLAIMED else ""
            yield _Received(name, str(n.originator_id), n.originator_version, n.state, author, case)
        start = page[-1].id + 1


def authored_leaves(recorder: Notifications, node: str) -> list[bytes]:
    """The leaves of the events `node` authored that the store of received
    events `recorder` holds, in the order received: a guess at the first
    leaves of `node`'s log."""
    events = list(_received(recorder))
    submitted_by = {e.originator_id: e.author for e in events if e.name == _SUBMITTED}
    leaves: list[bytes] = []
    for event in events:
        author = event.author
        if event.name == _CLAIMED:
            author = submitted_by.get(_hyphenated(event.case), "")
        if author != node:
            continue
        try:
            leaf = event_leaf(event.name, event.originator_id, event.version, event.state)
        except UnhashableEvent:
            continue
        leaves.append(leaf)
    return leaves


def _case_of(state: dict[str, Any]) -> str:
    value = state.get("case_id", "")
    if isinstance(value, dict):  # the transcoder's {"_type_": "uuid_hex", "_data_": ...}
        value = value.get("_data_", "")
    return str(value)


def _hyphenated(case_id: str) -> str:
    if len(case_id) == 32:
        return f"{case_id[:8]}-{case_id[8:12]}-{case_id[12:16]}-{case_id[16:20]}-{case_id[20:]}"
    return case_id
