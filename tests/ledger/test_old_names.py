"""Events stored under module paths, before the stable names, still load.

A store written by earlier code holds its events under the module path of
each class (`caseledger.ledger.case_events:Submitted`, then
`caseledger.ledger.case.events:Submitted`), with the aggregate's module path
as `originator_topic` and catalogue events in their version 1 shape. The
ledger reads them through the registry's aliases, verifies their chains,
serves them, appends after them, and a peer accepts them. Nothing else that
names code is read: such a name is refused, and imports nothing.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import StoredEvent

from caseledger.ledger import names
from caseledger.ledger.application import CaseLedger
from caseledger.ledger.case.events import CaseEvent
from caseledger.ledger.case.stages import Status
from caseledger.ledger.errors import UnknownEventName, UnreadableEvent
from caseledger.ledger.personal.keystore import MemorySubjectKeyStore
from caseledger.ledger.personal.sealing import SubjectKeys
from caseledger.ledger.trail.canonical import GENESIS, digest
from caseledger.ledger.trail.received import Delivery, KnownHashes, ReceivedEvents, TrailBroken
from caseledger.nodes.handoff.handover import records_of
from caseledger.nodes.replication.records import record_of
from tests.ledger.case.case_paths import submit
from tests.ledger.old_stores import LAYOUTS, Layout, old_history, old_stored, revised_terms
from tests.samples import JIEFANGLU, LIXIA, Clock, food_licence_terms

POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
NOT_IMPORTED = "xmlrpc.server"
"""A module of the standard library nothing here imports: a name must not make it."""


def sqlite_env(path: Path) -> dict[str, str]:
    return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}


def open_ledger(env: Mapping[str, str]) -> CaseLedger:
    return CaseLedger(LIXIA, SubjectKeys(MemorySubjectKeyStore()), env=env)


def assert_chain_verifies(trail: list[CaseEvent]) -> None:
    prev = GENESIS
    for version, event in enumerate(trail, start=1):
        assert event.originator_version == version
        assert digest(event.hashed_form()) == event.hash
        assert event.prev_hash == prev
        prev = event.hash


def check_old_store(env: Mapping[str, str], layout: Layout) -> None:
    """The whole behaviour on one store: written under `layout`, read by today's ledger."""
    clock = Clock()
    old = old_history(layout, clock)
    writer = open_ledger(env)
    writer.recorder.insert_events(old.events)
    writer.close()

    ledger = open_ledger(env)  # nothing of the history in memory
    try:
        case = ledger.case(old.case.number)  # through the claim of its number
        assert (case.id, case.status, case.owner) == (old.case.id, Status.IN_PROCESS, LIXIA)
        trail = ledger.trail(case.id)
        assert [e.stage for e in trail] == ["Submitted", "Accepted", "StepRecorded"]
        assert_chain_verifies(trail)
        assert ledger.item(str(food_licence_terms().implementation_code)) == revised_terms()

        # The chain goes on from the old events, under stable names.
        outcome = ledger.execute(
            case.id, clock.ctx(), lambda c, x: c.record_step(x, "审核", "王五", "同意", "pass")
        )
        assert outcome.version == 4
        assert_chain_verifies(ledger.trail(case.id))
        stored = ledger.stored_trail(case.id)
        assert [e.topic for e in stored] == [
            f"{layout.case_events}:Submitted",
            f"{layout.case_events}:Accepted",
            f"{layout.case_events}:StepRecorded",
            "caseledger.case.StepRecorded",
        ]

        # Served under stable names, whatever they are stored under.
        assert [r.topic for r in records_of(stored)] == [
            "caseledger.case.Submitted",
            "caseledger.case.Accepted",
            "caseledger.case.StepRecorded",
            "caseledger.case.StepRecorded",
        ]
        log = ledger.recorder.select_notifications(1, 100)
        assert {record_of(n).topic for n in log} == {
            "caseledger.catalogue.ItemPublished",
            "caseledger.catalogue.ItemRevised",
            "caseledger.case.Submitted",
            "caseledger.case.Accepted",
            "caseledger.case.StepRecorded",
            "caseledger.numbering.CaseNumberClaimed",
        }

        # A peer takes the trail as stored, old names and all.
        peer = ReceivedEvents(env=POPO)
        assert peer.accept_trail(LIXIA, stored, KnownHashes([peer])) == 4
        assert [e.topic for e in peer.stored(case.id)] == [
            "caseledger.case.Submitted",
            "caseledger.case.Accepted",
            "caseledger.case.StepRecorded",
            "caseledger.case.StepRecorded",
        ]
    finally:
        ledger.close()


@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_a_store_written_under_module_paths_loads_verifies_and_serves_its_cases(
    tmp_path: Path, layout: Layout
) -> None:
    check_old_store(sqlite_env(tmp_path / "events.sqlite"), layout)


@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_a_received_trail_under_module_paths_is_accepted_and_stored_by_stable_name(
    layout: Layout,
) -> None:
    old = old_history(layout, Clock())
    received = ReceivedEvents(env=POPO)
    deliveries = [Delivery(position, e) for position, e in enumerate(old.events, start=1)]
    assert received.receive(LIXIA, deliveries, KnownHashes([received])) == len(old.events)
    stored = received.stored(old.case.id)
    assert [e.topic for e in stored] == [
        "caseledger.case.Submitted",
        "caseledger.case.Accepted",
        "caseledger.case.StepRecorded",
    ]
    assert_chain_verifies([received.decode(e) for e in stored])


def test_a_node_reads_a_case_whose_events_were_stored_under_both_layouts(tmp_path: Path) -> None:
    flat, folders = LAYOUTS["flat"], LAYOUTS["folders"]
    old = old_history(flat, Clock())
    mixed = [old_stored_under(folders, e) if e.originator_version == 3 else e for e in old.events]
    env = sqlite_env(tmp_path / "events.sqlite")
    ledger = open_ledger(env)
    ledger.recorder.insert_events(mixed)
    assert_chain_verifies(ledger.trail(old.case.number))
    ledger.close()


def old_stored_under(layout: Layout, event: StoredEvent) -> StoredEvent:
    """A flat-layout case event as the folder layout stored it."""
    name = event.topic.partition(":")[2]
    return StoredEvent(
        event.originator_id, event.originator_version, f"{layout.case_events}:{name}", event.state
    )


# -- names that are not in the registry -----------------------------------------


def forbid_imports(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any import by name from here on fails the test (the stores are open by then)."""
    assert NOT_IMPORTED not in sys.modules

    def refuse(name: str, package: str | None = None) -> Any:
        raise AssertionError(f"{name} was imported")

    monkeypatch.setattr(importlib, "import_module", refuse)


REFUSED = [
    "os:system",
    f"{NOT_IMPORTED}:SimpleXMLRPCServer",
    NOT_IMPORTED,
    "caseledger.ledger.application:CaseLedger",
    "caseledger.ledger.case.base:CaseBase",
    "caseledger.case.Case",  # an aggregate, not an event
    "caseledger.case.Reopened",
    "caseledger.case.",
    "",
]


@pytest.mark.parametrize("topic", REFUSED)
def test_a_stored_event_under_another_name_is_refused_and_imports_nothing(
    topic: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = open_ledger(POPO)
    forbid_imports(monkeypatch)
    stored = StoredEvent(uuid4(), 1, topic, b"{}")
    with pytest.raises(UnknownEventName) as refused:
        ledger.mapper.to_domain_event(stored)
    assert refused.value.name == topic
    assert NOT_IMPORTED not in sys.modules


@pytest.mark.parametrize("topic", REFUSED)
def test_a_received_event_under_another_name_breaks_the_trail_and_imports_nothing(
    topic: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = old_history(LAYOUTS["folders"], Clock())
    trail = [e for e in old.events if e.originator_id == old.case.id]
    forged = StoredEvent(trail[-1].originator_id, trail[-1].originator_version, topic, b"{}")
    received = ReceivedEvents(env=POPO)
    forbid_imports(monkeypatch)
    with pytest.raises(TrailBroken) as broken:
        received.accept_trail(JIEFANGLU, [*trail[:-1], forged], KnownHashes([received]))
    assert isinstance(broken.value.__cause__, UnknownEventName)
    assert broken.value.version == 3
    assert received.stored(old.case.id) == []  # the batch is refused whole
    assert NOT_IMPORTED not in sys.modules


@pytest.mark.parametrize(
    "originator_topic",
    [
        f"{NOT_IMPORTED}:SimpleXMLRPCServer",
        "os:system",
        "caseledger.catalogue.Item",  # a known aggregate, but not the one a case event creates
        "caseledger.case.Submitted",  # an event, not an aggregate
    ],
)
def test_a_created_event_naming_another_aggregate_is_refused_and_imports_nothing(
    originator_topic: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    submitted = submit(Clock()).collect_events()[0]
    stored = old_stored(submitted, "caseledger.case.Submitted", originator_topic=originator_topic)
    ledger = open_ledger(POPO)
    forbid_imports(monkeypatch)
    with pytest.raises(UnreadableEvent):
        ledger.mapper.to_domain_event(stored)
    assert NOT_IMPORTED not in sys.modules


def test_an_alias_is_never_what_the_ledger_writes() -> None:
    ledger = open_ledger(POPO)
    ledger.publish_item(food_licence_terms())
    topics = {n.topic for n in ledger.recorder.select_notifications(1, 10)}
    assert topics == {"caseledger.catalogue.ItemPublished"}
    state = json.loads(ledger.recorder.select_notifications(1, 1)[0].state)
    assert state["originator_topic"] == "caseledger.catalogue.Item"
    assert not set(names.ALIASES) & topics
