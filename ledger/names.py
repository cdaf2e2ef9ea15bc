"""Stable names of what the ledger stores and sends (listed in `docs/events.md`).

Every event class the ledger stores, and every aggregate class that a
creating event names as its `originator_topic`, is known by a stable name,
`caseledger.<context>.<Name>` (context `case`, `catalogue`, `numbering` or `audit`),
declared on the class as `NAME`. A name never depends on where the class
lives and never contains a colon, so it cannot be taken for a module path.

This module is the one map between names and classes. The ledger's mapper
(`caseledger.ledger.mapper`) writes these names and reads through here only:
a name from a store or a peer selects one of the classes listed below or is
refused with `UnknownEventName`; it never imports anything.

Events stored before the names existed carry the module path of their class
at the time (`module:qualname`). `ALIASES` lists each such path explicitly,
so those events still load. It lists history, and only grows with it: a class
that moves from now on needs no alias, since nothing stores module paths.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, Final

from caseledger.ledger.audit.rotation import SigningKey
from caseledger.ledger.case import events as ev
from caseledger.ledger.case.aggregate import Case
from caseledger.ledger.catalogue import Item
from caseledger.ledger.codes.numbering import CaseNumber
from caseledger.ledger.errors import UnknownEventName

AGGREGATES: Final[tuple[type[Any], ...]] = (Case, Item, CaseNumber, SigningKey)
"""The aggregates whose creating events name them (`originator_topic`)."""

CASE_EVENTS: Final[tuple[type[ev.CaseEvent], ...]] = (
    ev.Submitted,
    ev.PreReviewPassed,
    ev.PreReviewReturned,
    ev.CorrectionRequested,
    ev.MaterialsSupplemented,
    ev.Accepted,
    ev.AcceptanceRefused,
    ev.StepRecorded,
    ev.SpecialProcedureStarted,
    ev.SpecialProcedureEnded,
    ev.Suspended,
    ev.Resumed,
    ev.DeadlineExtended,
    ev.Concluded,
    ev.CertificateIssued,
    ev.DispatchedByMail,
    ev.CollectedAtWindow,
    ev.DeliveryConfirmed,
    ev.Withdrawn,
    ev.Rated,
    ev.RectificationRecorded,
    ev.TransferRequested,
    ev.TransferAccepted,
    ev.TransferRejected,
)

EVENTS: Final[tuple[type[Any], ...]] = (
    *CASE_EVENTS,
    Item.Published,
    Item.Revised,
    CaseNumber.Claimed,
    SigningKey.Rotated,
)
"""Every event class the ledger stores."""

_CREATES: Final[Mapping[type[Any], type[Any]]] = {
    ev.Submitted: Case,
    Item.Published: Item,
    CaseNumber.Claimed: CaseNumber,
    SigningKey.Rotated: SigningKey,
}

# The case events that were stored under module paths (all of them, in both
# layouts below). Frozen: an event class added later never had a module path
# in a store.
_CASE_EVENTS_STORED_BY_PATH: Final = (
    "Submitted",
    "PreReviewPassed",
    "PreReviewReturned",
    "CorrectionRequested",
    "MaterialsSupplemented",
    "Accepted",
    "AcceptanceRefused",
    "StepRecorded",
    "SpecialProcedureStarted",
    "SpecialProcedureEnded",
    "Suspended",
    "Resumed",
    "DeadlineExtended",
    "Concluded",
    "CertificateIssued",
    "DispatchedByMail",
    "CollectedAtWindow",
    "DeliveryConfirmed",
    "Withdrawn",
    "Rated",
    "RectificationRecorded",
    "TransferRequested",
    "TransferAccepted",
    "TransferRejected",
)

ALIASES: Final[Mapping[str, str]] = MappingProxyType(
    {
        # Flat `ledger/` (to 2026-12): case_events.py, case.py, numbering.py.
        **{
            f"caseledger.ledger.case_events:{event}": f"caseledger.case.{event}"
            for event in _CASE_EVENTS_STORED_BY_PATH
        },
        "caseledger.ledger.case:Case": "caseledger.case.Case",
        "caseledger.ledger.numbering:CaseNumber": "caseledger.numbering.CaseNumber",
        "caseledger.ledger.numbering:CaseNumber.Claimed": "caseledger.numbering.CaseNumberClaimed",
        # The catalogue, which never moved.
        "caseledger.ledger.catalogue:Item": "caseledger.catalogue.Item",
        "caseledger.ledger.catalogue:Item.Published": "caseledger.catalogue.ItemPublished",
        "caseledger.ledger.catalogue:Item.Revised": "caseledger.catalogue.ItemRevised",
        # A folder per concern (2026-12): ledger/case/, ledger/codes/.
        **{
            f"caseledger.ledger.case.events:{event}": f"caseledger.case.{event}"
            for event in _CASE_EVENTS_STORED_BY_PATH
        },
        "caseledger.ledger.case.aggregate:Case": "caseledger.case.Case",
        "caseledger.ledger.codes.numbering:CaseNumber": "caseledger.numbering.CaseNumber",
        "caseledger.ledger.codes.numbering:CaseNumber.Claimed": (
            "caseledger.numbering.CaseNumberClaimed"
        ),
    }
)
"""Every module path an event or aggregate was stored under, to its stable name."""


def _declared_name(cls: type[Any]) -> str:
    name = getattr(cls, "NAME", None)
    if not isinstance(name, str) or not name.startswith("caseledger.") or ":" in name:
        raise TypeError(f"{cls.__qualname__} declares no stable NAME")
    return name


_NAME_OF: Final[Mapping[type[Any], str]] = {
    cls: _declared_name(cls) for cls in (*AGGREGATES, *EVENTS)
}
_CLASS_OF: Final[Mapping[str, type[Any]]] = {name: cls for cls, name in _NAME_OF.items()}
_ALIASES_OF: Final[Mapping[str, tuple[str, ...]]] = {
    name: tuple(alias for alias, target in ALIASES.items() if target == name) for name in _CLASS_OF
}
_EVENT_SET: Final = frozenset(EVENTS)
CASE_EVENT_NAMES: Final[frozenset[str]] = frozenset(_NAME_OF[cls] for cls in CASE_EVENTS)

if len(_CLASS_OF) != len(_NAME_OF):
    raise TypeError("two stored classes declare the same stable name")
if not set(ALIASES.values()) <= set(_CLASS_OF):
    raise TypeError("an alias names no stable name")


def name_of(cls: type[Any]) -> str:
    """The stable name of a registered class."""
    try:
        return _NAME_OF[cls]
    except KeyError:
        raise UnknownEventName(
            f"{cls.__module__}:{cls.__qualname__}", "this class is not registered for storing"
        ) from None


def known_name(topic: str) -> str | None:
    """The stable name `topic` is, or is an alias of; None if it is neither."""
    if topic in _CLASS_OF:
        return topic
    return ALIASES.get(topic)


def stable_name(topic: str) -> str:
    """The stable name `topic` is, or is an alias of; UnknownEventName otherwise."""
    name = known_name(topic)
    if name is None:
        raise UnknownEventName(topic)
    return name


def event_class(topic: str) -> type[Any]:
    """The event class a stored topic names (a stable name or an alias)."""
    cls = _CLASS_OF[stable_name(topic)]
    if cls not in _EVENT_SET:
        raise UnknownEventName(topic, "names an aggregate, not an event")
    return cls


def aggregate_class(topic: str) -> type[Any]:
    """The aggregate class an `originator_topic` names (a stable name or an alias)."""
    cls = _CLASS_OF[stable_name(topic)]
    if cls in _EVENT_SET:
        raise UnknownEventName(topic, "names an event, not an aggregate")
    return cls


def created_by(event: type[Any]) -> type[Any] | None:
    """The aggregate an event class creates, or None if it is not a creating event."""
    return _CREATES.get(event)


def topics_for(names: Iterable[str]) -> tuple[str, ...]:
    """Every topic a store may hold events of these names under: each stable
    name with its aliases. `names` may hold aliases too; an unknown one is
    refused (UnknownEventName)."""
    found: list[str] = []
    for topic in names:
        name = stable_name(topic)
        for each in (name, *_ALIASES_OF[name]):
            if each not in found:
                found.append(each)
    return tuple(found)


def is_case_event(topic: str) -> bool:
    """Whether a stored topic (a stable name or an alias) is a case event's."""
    return known_name(topic) in CASE_EVENT_NAMES
