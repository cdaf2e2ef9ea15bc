"""The mapper of every application the ledger builds: stable names in, stable names out.

`eventsourcing`'s own mapper stores an event under the module path of its
class and resolves a stored topic by importing what it names. This one
stores each event under its stable name (`caseledger.ledger.names`), with
the stable name of its aggregate as `originator_topic`, and reads a stored
or received event through the registry only. What it reads is checked
before it becomes an object: a known name (or alias), a class version this
node reads, and exactly the fields of that version, each of its type. An
event that fails is refused with `UnreadableEvent` (`UnknownEventName` for
a name); nothing from a store or a peer chooses code.

Older class versions are brought up to date on reading by the event class's
`upcast_vN_vN+1` static methods, in order, as the library does. The state
carries `class_version` only above 1, also as the library does.

Applications select it through the library's hook, `construct_mapper`
(`stable_names_mapper`); a `MAPPER_TOPIC` setting is not consulted. The
transcoder, and any compressor or cipher, are the application's own.
"""

from __future__ import annotations

import dataclasses
import typing
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic

from caseledger.ledger import names
from caseledger.ledger.errors import UnreadableEvent

# Set from the stored event itself, not from its state.
_FROM_RECORD = frozenset({"originator_id", "originator_version"})
_CHECKED_TYPES = (str, int, bool, dict, list, datetime, UUID)


_FIELD_TYPES: dict[type[Any], dict[str, type[Any] | None]] = {}


def _field_types(cls: type[Any]) -> dict[str, type[Any] | None]:
    """The fields an event's state must hold, each with the type its value
    must have (None: not checked here)."""
    known = _FIELD_TYPES.get(cls)
    if known is not None:
        return known
    hints = typing.get_type_hints(cls)
    found: dict[str, type[Any] | None] = {}
    for field in dataclasses.fields(cls):
        if field.name in _FROM_RECORD:
            continue
        hint = typing.get_origin(hints[field.name]) or hints[field.name]
        found[field.name] = hint if hint in _CHECKED_TYPES else None
    _FIELD_TYPES[cls] = found
    return found


def _check_fields(name: str, version: int, cls: type[Any], state: dict[str, Any]) -> None:
    expected = _field_types(cls)
    if state.keys() != expected.keys():
        missing = sorted(expected.keys() - state.keys())
        unexpected = sorted(state.keys() - expected.keys())
        raise UnreadableEvent(
            name,
            f"the state is not of class version {version}: "
            f"missing {missing or 'nothing'}, unexpected {unexpected or 'nothing'}",
        )
    for field, kind in expected.items():
        value = state[field]
        # bool is an int in Python, never the other way round in a state.
        wrong_bool = kind is int and isinstance(value, bool)
        if kind is not None and (not isinstance(value, kind) or wrong_bool):
            raise UnreadableEvent(name, f"field {field} is not a {kind.__name__}")


class StableNameMapper(Mapper[UUID]):
    """Writes each event under its stable name, and reads through the registry only."""

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        cls: type[Any] = type(domain_event)
        name = names.name_of(cls)
        state = dict(vars(domain_event))
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        aggregate = names.created_by(cls)
        if aggregate is not None:
            # The library put the aggregate's module path here.
            if state["originator_topic"] != get_topic(aggregate):
                raise TypeError(f"{name} creates {names.name_of(aggregate)} only")
            state["originator_topic"] = names.name_of(aggregate)
        version: int = cls.class_version
        if version > 1:
            state["class_version"] = version
        stored_state = self.transcoder.encode(state)
        if self.compressor:
            stored_state = self.compressor.compress(stored_state)
        if self.cipher:
            stored_state = self.cipher.encrypt(stored_state)
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=name,
            state=stored_state,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        cls = names.event_class(stored_event.topic)
        name = names.name_of(cls)
        state = self._decoded(name, stored_event.state)
        aggregate = names.created_by(cls)
        if aggregate is not None:
            named = state.get("originator_topic")
            if not isinstance(named, str) or names.aggregate_class(named) is not aggregate:
                raise UnreadableEvent(
                    name, f"its originator_topic is not {names.name_of(aggregate)}"
                )
            # What the library resolves when the event builds its aggregate:
            # the class's own topic, which get_topic has just registered, so
            # resolving it imports nothing.
            state["originator_topic"] = get_topic(aggregate)
        newest: int = cls.class_version
        version = state.pop("class_version", 1)
        if type(version) is not int or not 1 <= version <= newest:
            raise UnreadableEvent(
                name, f"class version {version!r} is not one this node reads (1 to {newest})"
            )
        while version < newest:
            getattr(cls, f"upcast_v{version}_v{version + 1}")(state)
            version += 1
        _check_fields(name, newest, cls, state)
        originator_id = stored_event.originator_id
        state["originator_id"] = (
            originator_id if isinstance(originator_id, UUID) else UUID(str(originator_id))
        )
        state["originator_version"] = stored_event.originator_version
        domain_event: DomainEventProtocol[UUID] = object.__new__(cls)
        object.__setattr__(domain_event, "__dict__", state)
        return domain_event

    def _decoded(self, name: str, stored_state: bytes) -> dict[str, Any]:
        try:
            if self.cipher:
                stored_state = self.cipher.decrypt(stored_state)
            if self.compressor:
                stored_state = self.compressor.decompress(stored_state)
            state = self.transcoder.decode(stored_state)
        except Exception as error:
            raise UnreadableEvent(name, f"its state does not decode: {error}") from error
        if not isinstance(state, dict):
            raise UnreadableEvent(name, "its state is not an object")
        return state


def stable_names_mapper(application: Application[UUID]) -> Mapper[UUID]:
    """The mapper for `application.construct_mapper`: this module's, on the
    application's own transcoder, compressor and cipher."""
    return application.factory.mapper(
        transcoder=application.construct_transcoder(), mapper_class=StableNameMapper
    )
