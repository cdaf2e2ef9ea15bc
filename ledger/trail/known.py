"""The hashes of the case events a node holds, looked up fast.

A follower checks each received event against the one before it, which it
has usually just stored: so the hashes of recently stored events are kept in
memory, and the node's stores are asked only when memory does not know.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from uuid import UUID

from eventsourcing.application import Application

from caseledger.ledger.case.events import CaseEvent
from caseledger.ledger.errors import UnreadableEvent


class KnownHashes:
    """Looks up the hash of a case event this node already holds, in either store.

    The hashes of recently stored events are kept in memory. So are the
    links still to check: the `prev_hash`
    of events that arrived before their predecessor (bounded, and in memory:
    after a restart such a link is checked by the audit replay instead).
    """

    def __init__(self, stores: Sequence[Application[UUID]], remembered: int = 100_000) -> None:
        self._stores = stores
        self._recent: OrderedDict[tuple[UUID, int], str] = OrderedDict()
        self._links: OrderedDict[tuple[UUID, int], str] = OrderedDict()
        self._capacity = remembered
        self._lock = threading.Lock()

    def await_link(self, case_id: UUID, version: int, hash_: str) -> None:
        """An event arrived before the one it follows: that one must hash to `hash_`."""
        with self._lock:
            self._links[(case_id, version)] = hash_
            if len(self._links) > self._capacity:
                self._links.popitem(last=False)

    def awaited(self, case_id: UUID, version: int) -> str | None:
        with self._lock:
            return self._links.get((case_id, version))

    def remember(self, case_id: UUID, version: int, hash_: str) -> None:
        with self._lock:
            self._recent[(case_id, version)] = hash_
            if len(self._recent) > self._capacity:
                self._recent.popitem(last=False)

    def hash_of(self, case_id: UUID, version: int) -> str | None:
        with self._lock:
            recent = self._recent.get((case_id, version))
        if recent is not None:
            return recent
        for store in self._stores:
            found = store.recorder.select_events(case_id, gt=version - 1, lte=version)
            if found:
                event = store.mapper.to_domain_event(found[0])
                if isinstance(event, CaseEvent):
                    return event.hash
        return None

    def held_elsewhere(
        self, case_id: UUID, first: int, last: int, besides: Application[UUID]
    ) -> dict[int, str]:
        """The hashes of versions `first`..`last` of a case held in the stores
        other than `besides` (one look-up per store). A copy that does not
        decode is left out: reading the case reports it."""
        found: dict[int, str] = {}
        for store in self._stores:
            if store is besides:
                continue
            for stored in store.recorder.select_events(case_id, gt=first - 1, lte=last):
                try:
                    event = store.mapper.to_domain_event(stored)
                except UnreadableEvent:
                    continue
                if isinstance(event, CaseEvent):
                    found.setdefault(event.originator_version, event.hash)
        return found
