"""Class versions: what an event holds changes only by a new version and an upcaster.

Catalogue events gained, at class version 2, the operator who published or
revised the item; one stored at version 1 is read with the operator
unrecorded. A state the node cannot read as a version of its class (a later
version, other fields, a value of another type) is refused, never guessed at.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from caseledger.ledger.application import CaseLedger
from caseledger.ledger.case.aggregate import Operator
from caseledger.ledger.case.events import CaseEvent
from caseledger.ledger.catalogue import UNRECORDED, Item, item_id
from caseledger.ledger.errors import InvalidInput, UnreadableEvent
from caseledger.ledger.personal.keystore import MemorySubjectKeyStore
from caseledger.ledger.personal.sealing import SubjectKeys
from tests.ledger.case.case_paths import submit
from tests.ledger.old_stores import LAYOUTS, old_stored, revised_terms, transcoder
from tests.samples import LIXIA, Clock, food_licence_terms

POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
CATALOGUE_ADMIN = Operator("cat-admin-01", "catalogue_admin")


@pytest.fixture
def ledger() -> CaseLedger:
    return CaseLedger(LIXIA, SubjectKeys(MemorySubjectKeyStore()), env=POPO)


def stored_states(ledger: CaseLedger) -> list[tuple[str, dict[str, Any]]]:
    return [(n.topic, json.loads(n.state)) for n in ledger.recorder.select_notifications(1, 100)]


def v1_item_events(published_topic: str, revised_topic: str) -> list[Any]:
    """An item published and revised, stored in the version 1 shape."""
    item = Item.publish(LIXIA, food_licence_terms())
    item.revise(revised_terms())
    published, revised = item.collect_events()
    v1 = {"operator_id": None, "operator_role": None}
    return [
        old_stored(published, published_topic, originator_topic="caseledger.catalogue.Item", **v1),
        old_stored(revised, revised_topic, **v1),
    ]


@pytest.mark.parametrize(
    ("published", "revised"),
    [
        ("caseledger.catalogue.ItemPublished", "caseledger.catalogue.ItemRevised"),
        ("caseledger.ledger.catalogue:Item.Published", "caseledger.ledger.catalogue:Item.Revised"),
    ],
)
def test_a_catalogue_event_stored_at_version_1_is_read_with_its_operator_unrecorded(
    ledger: CaseLedger, published: str, revised: str
) -> None:
    events = v1_item_events(published, revised)
    assert all("class_version" not in json.loads(e.state) for e in events)
    ledger.recorder.insert_events(events)
    decoded = [cast(Any, ledger.mapper.to_domain_event(e)) for e in events]
    assert [(e.operator_id, e.operator_role) for e in decoded] == [("", ""), ("", "")]
    item: Item = ledger.repository.get(item_id(str(food_licence_terms().implementation_code)))
    assert isinstance(item, Item)
    assert item.terms == revised_terms()
    assert item.changed_by == UNRECORDED
    assert ledger.item(str(food_licence_terms().implementation_code)) == revised_terms()


def test_a_catalogue_event_is_stored_at_version_2_with_its_operator(ledger: CaseLedger) -> None:
    ledger.publish_item(food_licence_terms(), CATALOGUE_ADMIN)
    reviser = Operator("cat-admin-02", "catalogue_admin")
    assert ledger.publish_item(revised_terms(), reviser) == 2
    (published_topic, published), (revised_topic, revised) = stored_states(ledger)
    assert published_topic == "caseledger.catalogue.ItemPublished"
    assert revised_topic == "caseledger.catalogue.ItemRevised"
    assert published["class_version"] == revised["class_version"] == 2
    assert (published["operator_id"], published["operator_role"]) == (
        "cat-admin-01",
        "catalogue_admin",
    )
    assert (revised["operator_id"], revised["operator_role"]) == (
        "cat-admin-02",
        "catalogue_admin",
    )
    item: Item = ledger.repository.get(item_id(str(food_licence_terms().implementation_code)))
    assert isinstance(item, Item)
    assert item.changed_by == reviser


def test_a_catalogue_event_without_an_operator_records_it_unrecorded(ledger: CaseLedger) -> None:
    ledger.publish_item(food_licence_terms())
    ((_, published),) = stored_states(ledger)
    assert (published["class_version"], published["operator_id"], published["operator_role"]) == (
        2,
        "",
        "",
    )


@pytest.mark.parametrize("operator", [Operator("cat-admin-01", " "), Operator("", "admin")])
def test_an_operator_named_only_in_part_is_refused(ledger: CaseLedger, operator: Operator) -> None:
    with pytest.raises(InvalidInput, match="operator"):
        ledger.publish_item(food_licence_terms(), operator)
    assert ledger.recorder.max_notification_id() in (None, 0)


def test_a_case_event_at_version_1_is_stored_as_before_but_for_its_names(
    ledger: CaseLedger,
) -> None:
    """Version 1 states carry no `class_version`, as the library always wrote them."""
    case = submit(Clock())
    (event,) = case.collect_events()
    new = json.loads(ledger.mapper.to_stored_event(event).state)
    old = json.loads(
        old_stored(event, "x", originator_topic=LAYOUTS["folders"].case).state,
    )
    assert "class_version" not in new
    assert new.pop("originator_topic") == "caseledger.case.Case"
    old.pop("originator_topic")
    assert new == old


def case_event_state(**changes: Any) -> Any:
    (event,) = submit(Clock()).collect_events()
    return old_stored(event, "caseledger.case.Submitted", **changes)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"class_version": 2}, "class version 2"),
        ({"class_version": 0}, "class version 0"),
        ({"class_version": "1"}, "class version '1'"),
        ({"apply": "x"}, "unexpected \\['apply'\\]"),
        ({"hashed_form": {}}, "unexpected \\['hashed_form'\\]"),
        ({"prev_hash": None}, "missing \\['prev_hash'\\]"),
        ({"hash": 7}, "field hash is not a str"),
        ({"payload": []}, "field payload is not a dict"),
        ({"timestamp": "2026-03-02T01:00:00+00:00"}, "field timestamp is not a datetime"),
    ],
)
def test_a_state_that_is_no_version_of_its_class_is_refused(
    ledger: CaseLedger, changes: dict[str, Any], reason: str
) -> None:
    with pytest.raises(UnreadableEvent, match=reason):
        ledger.mapper.to_domain_event(case_event_state(**changes))


def test_a_state_that_does_not_decode_is_refused(ledger: CaseLedger) -> None:
    for state in (b"not json", b"[1, 2]", b'{"_type_": "pickle", "_data_": "x"}'):
        stored = old_stored(submit(Clock()).collect_events()[0], "caseledger.case.Submitted")
        broken = type(stored)(stored.originator_id, 1, stored.topic, state)
        with pytest.raises(UnreadableEvent):
            ledger.mapper.to_domain_event(broken)


def test_a_decoded_event_is_what_was_stored(ledger: CaseLedger) -> None:
    case = submit(Clock())
    (event,) = case.collect_events()
    stored = ledger.mapper.to_stored_event(event)
    decoded = ledger.mapper.to_domain_event(stored)
    assert isinstance(decoded, CaseEvent)
    assert decoded == event
    assert decoded.timestamp == datetime(2026, 3, 2, 1, 1, tzinfo=UTC)
    assert transcoder().decode(stored.state)["originator_topic"] == "caseledger.case.Case"
    assert decoded.originator_id == case.id
