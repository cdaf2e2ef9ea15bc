"""A case's trail as the node holds it, for refolding a case from its start.

A node holds a case's events in two stores: those it authored and those it
received. Either log may deliver an event before the other delivers the
versions before it, so when a projection meets a version that does not
follow its row it reads the trail from the stores instead: both stores,
merged by version, decoded by the node's mapper, up to the first version
neither holds yet (the rest is still on its way and comes with its own
notification).
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from eventsourcing.persistence import AggregateRecorder, Mapper, StoredEvent

from caseledger.ledger.case.events import CaseEvent

__all__ = ["HeldTrails"]


class HeldTrails:
    """Reads case events from a node's stores (authored first: a handed-over
    case's imported copy of a version is the same event)."""

    def __init__(self, stores: Sequence[AggregateRecorder], mapper: Mapper[UUID]) -> None:
        self._stores = tuple(stores)
        self._mapper = mapper

    def after(self, case_id: UUID, version: int) -> list[CaseEvent]:
        """The held events of a case after `version` that follow on without a gap."""
        by_version: dict[int, StoredEvent] = {}
        for store in self._stores:
            for stored in store.select_events(case_id, gt=version):
                by_version.setdefault(stored.originator_version, stored)
        events: list[CaseEvent] = []
        expected = version + 1
        while expected in by_version:
            event = self._mapper.to_domain_event(by_version[expected])
            if not isinstance(event, CaseEvent):
                break
            events.append(event)
            expected += 1
        return events
