"""Stores written before events had stable names, for the tests of reading them.

The same history a node writes today (a catalogue item published and
revised, a case submitted, accepted and worked on, its number claimed),
stored as the library's own mapper stored it: under the module path of each
class in one of the two layouts the code had, with the aggregate's module
path as `originator_topic`, and catalogue events in their version 1 shape
(no operator, no `class_version`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    StoredEvent,
    UUIDAsHex,
)

from caseledger.ledger.case.aggregate import Case
from caseledger.ledger.catalogue import Item, ItemTerms
from caseledger.ledger.codes.numbering import CaseNumber
from tests.ledger.case.case_paths import PROMISED_LIMITS, submit
from tests.samples import LIXIA, Clock, food_licence_terms


@dataclass(frozen=True)
class Layout:
    """Where the stored classes lived: the module paths events were stored under."""

    case_events: str
    case: str
    numbering: str
    catalogue: str = "caseledger.ledger.catalogue"


FLAT = Layout(
    case_events="caseledger.ledger.case_events",
    case="caseledger.ledger.case:Case",
    numbering="caseledger.ledger.numbering",
)
"""Every module in `ledger/` itself, before the folder per concern."""

FOLDERS = Layout(
    case_events="caseledger.ledger.case.events",
    case="caseledger.ledger.case.aggregate:Case",
    numbering="caseledger.ledger.codes.numbering",
)
"""A folder per concern: `ledger/case/`, `ledger/codes/`."""

LAYOUTS = {"flat": FLAT, "folders": FOLDERS}


def transcoder() -> JSONTranscoder:
    """The transcoder every application of the ledger has used."""
    found = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        found.register(transcoding)
    return found


def old_stored(event: Any, topic: str, **changes: Any) -> StoredEvent:
    """`event` as the library's mapper stored it under `topic`, its state changed
    by `changes` (a value of None drops that field)."""
    state = dict(vars(event))
    originator_id = state.pop("originator_id")
    originator_version = state.pop("originator_version")
    for field, value in changes.items():
        if value is None:
            state.pop(field, None)
        else:
            state[field] = value
    return StoredEvent(originator_id, originator_version, topic, transcoder().encode(state))


def revised_terms() -> ItemTerms:
    return dataclasses.replace(
        food_licence_terms(),
        required_materials=("食品经营许可申请书", "营业执照复印件", "场所平面图"),
    )


@dataclass(frozen=True)
class OldHistory:
    case: Case
    item: Item
    events: list[StoredEvent]


def old_history(layout: Layout, clock: Clock) -> OldHistory:
    """A node's history as it was stored under `layout`'s module paths."""
    item = Item.publish(LIXIA, food_licence_terms())
    item.revise(revised_terms())
    case = submit(clock)
    case.accept(clock.ctx(), "历受〔2026〕101号", food_licence_terms().case_type, PROMISED_LIMITS)
    case.record_step(clock.ctx(), "审查", "李四", "符合条件", "pass")
    claim = CaseNumber.claim(case.number, case.id)
    v1 = {"operator_id": None, "operator_role": None}
    published, revised = item.collect_events()
    events = [
        old_stored(
            published,
            f"{layout.catalogue}:Item.Published",
            originator_topic=f"{layout.catalogue}:Item",
            **v1,
        ),
        old_stored(revised, f"{layout.catalogue}:Item.Revised", **v1),
    ]
    for event in case.collect_events():
        topic = f"{layout.case_events}:{type(event).__name__}"
        if event.originator_version == 1:
            events.append(old_stored(event, topic, originator_topic=layout.case))
        else:
            events.append(old_stored(event, topic))
    (claimed,) = claim.collect_events()
    events.append(
        old_stored(
            claimed,
            f"{layout.numbering}:CaseNumber.Claimed",
            originator_topic=f"{layout.numbering}:CaseNumber",
        )
    )
    return OldHistory(case, item, events)
