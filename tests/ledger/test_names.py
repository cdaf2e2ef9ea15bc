"""The registry of stable names: complete, unambiguous, and what docs/events.md says."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.domain import CanMutateAggregate

from caseledger.ledger import application, names
from caseledger.ledger.case import events as ev
from caseledger.ledger.case.aggregate import Case
from caseledger.ledger.catalogue import REFERENCE_DATA_TOPICS, Item, is_reference_data
from caseledger.ledger.codes.numbering import CaseNumber
from caseledger.ledger.errors import UnknownEventName

EVENTS_DOC = Path(__file__).parents[2] / "docs" / "events.md"
NAME = re.compile(r"^caseledger\.(case|catalogue|numbering|audit)\.[A-Z][A-Za-z]+$")

assert application  # every stored class is imported by the time the ledger is


def subclasses(cls: type[Any]) -> Iterator[type[Any]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from subclasses(sub)


def ledger_event_classes() -> set[type[Any]]:
    return {
        c for c in subclasses(CanMutateAggregate) if c.__module__.startswith("caseledger.ledger")
    }


def test_every_stored_class_has_its_own_stable_name_that_names_no_module() -> None:
    stored = [*names.AGGREGATES, *names.EVENTS]
    assert len({names.name_of(c) for c in stored}) == len(stored)
    for cls in stored:
        assert NAME.match(names.name_of(cls)), cls
        assert names.name_of(cls) == cls.NAME


def test_every_case_event_is_registered_under_its_class_name() -> None:
    """Its class name is also the `type` its hash covers."""
    found = {c for c in subclasses(ev.CaseEvent) if c.__module__.startswith("caseledger.")}
    assert found == set(names.CASE_EVENTS)
    for cls in names.CASE_EVENTS:
        assert names.name_of(cls) == f"caseledger.case.{cls.__name__}"


def test_every_event_class_the_ledger_applies_is_registered() -> None:
    """An event class with its own `apply` or `evolve` is one aggregates trigger
    (the library subclasses an aggregate's nested events under the same name)."""
    registered = set(names.EVENTS)
    for cls in ledger_event_classes():
        if cls is ev.CaseEvent or not ({"apply", "evolve"} & set(vars(cls))):
            continue
        same = {c for c in subclasses(cls) if c.__qualname__ == cls.__qualname__}
        assert ({cls} | same) & registered, cls


def test_every_event_class_declares_its_class_version() -> None:
    for cls in names.EVENTS:
        declaring = [c for c in cls.__mro__ if "class_version" in vars(c)]
        assert declaring, cls
        assert declaring[0].__qualname__ == cls.__qualname__, cls


def test_an_unregistered_class_has_no_name() -> None:
    with pytest.raises(UnknownEventName):
        names.name_of(ev.CaseEvent)


def test_names_and_aliases_resolve_to_the_registered_classes_only() -> None:
    assert names.event_class("caseledger.case.Submitted") is ev.Submitted
    assert names.event_class("caseledger.ledger.case_events:Submitted") is ev.Submitted
    assert names.event_class("caseledger.ledger.case.events:Submitted") is ev.Submitted
    assert names.event_class("caseledger.ledger.catalogue:Item.Published") is Item.Published
    assert names.aggregate_class("caseledger.ledger.case:Case") is Case
    assert names.aggregate_class("caseledger.numbering.CaseNumber") is CaseNumber
    assert names.created_by(ev.Submitted) is Case
    assert names.created_by(ev.Accepted) is None
    with pytest.raises(UnknownEventName):
        names.event_class("caseledger.case.Case")
    with pytest.raises(UnknownEventName):
        names.aggregate_class("caseledger.case.Submitted")
    assert names.known_name("caseledger.ledger.case:Submitted") is None


def test_each_alias_is_a_module_path_of_the_class_its_name_has() -> None:
    for alias, name in names.ALIASES.items():
        module, _, qualname = alias.partition(":")
        assert module.startswith("caseledger.ledger"), alias
        assert qualname, alias
        cls = names.event_class(name) if name in _event_names() else names.aggregate_class(name)
        assert cls.__qualname__ == qualname, alias
    assert len(names.ALIASES) == 2 * len(names.CASE_EVENTS) + 2 + 3 + 4


def _event_names() -> set[str]:
    return {names.name_of(c) for c in names.EVENTS}


def test_a_filter_by_name_matches_every_name_an_event_is_stored_under() -> None:
    assert names.topics_for(["caseledger.case.TransferRequested"]) == (
        "caseledger.case.TransferRequested",
        "caseledger.ledger.case_events:TransferRequested",
        "caseledger.ledger.case.events:TransferRequested",
    )
    assert names.topics_for(REFERENCE_DATA_TOPICS) == (
        "caseledger.catalogue.ItemPublished",
        "caseledger.ledger.catalogue:Item.Published",
        "caseledger.catalogue.ItemRevised",
        "caseledger.ledger.catalogue:Item.Revised",
    )
    # An alias in the filter (an older node asking) means the same.
    assert names.topics_for(["caseledger.ledger.catalogue:Item.Revised"]) == (
        "caseledger.catalogue.ItemRevised",
        "caseledger.ledger.catalogue:Item.Revised",
    )
    with pytest.raises(UnknownEventName):
        names.topics_for(["caseledger.case.Submitted", "os:system"])


def test_case_events_and_reference_data_are_told_apart_by_name() -> None:
    assert names.is_case_event("caseledger.case.Rated")
    assert names.is_case_event("caseledger.ledger.case_events:Rated")
    assert not names.is_case_event("caseledger.catalogue.ItemPublished")
    assert not names.is_case_event("caseledger.numbering.CaseNumberClaimed")
    assert not names.is_case_event("caseledger.case.Case")
    assert not names.is_case_event("os:system")
    assert REFERENCE_DATA_TOPICS == (
        "caseledger.catalogue.ItemPublished",
        "caseledger.catalogue.ItemRevised",
    )
    assert is_reference_data("caseledger.catalogue.ItemRevised")
    assert not is_reference_data("caseledger.case.Submitted")


def test_the_events_doc_lists_every_name_with_its_version_and_every_alias() -> None:
    doc = EVENTS_DOC.read_text(encoding="utf-8")
    for cls in names.EVENTS:
        row = rf"\| `{re.escape(names.name_of(cls))}` \| {cls.class_version} \|"
        assert re.search(row, doc), names.name_of(cls)
    for cls in names.AGGREGATES:
        assert f"| `{names.name_of(cls)}` |" in doc
    for alias in names.ALIASES:
        assert f"`{alias}`" in doc, alias
