"""Events a node holds but did not author, and where each came from.

Received events live in a store of their own, never in the node's authored
log, so a node never re-publishes what it received. Each batch from a source
is written together with the source's position (`Tracking`) in one
transaction: after a crash the feed resumes from the recorded position, and a
redelivered batch changes nothing.

Every event is checked before it is stored: it must be readable (a name in
the registry of stable names, a shape its class has), and a case event's hash
must match its canonical form and its `prev_hash` the event before it when
this node holds that one. A batch with a broken event is refused whole, and
the feed from that source stops at the event before it. What is stored goes
by its stable name, whichever alias the source sent.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import (
    IntegrityError,
    Mapper,
    ProcessRecorder,
    StoredEvent,
    Tracking,
)

from caseledger.ledger import names
from caseledger.ledger.case.events import CaseEvent
from caseledger.ledger.errors import LedgerError, UnreadableEvent
from caseledger.ledger.mapper import stable_names_mapper
from caseledger.ledger.trail.canonical import GENESIS, digest


class TrailBroken(LedgerError):
    """A received event does not verify: someone altered or dropped history."""

    def __init__(self, source: str, case: str, version: int, reason: str) -> None:
        self.source = source
        self.case = case
        self.version = version
        self.reason = reason
        super().__init__(f"event {version} of case {case} from {source}: {reason}")


@dataclass(frozen=True)
class Delivery:
    """One event as a feed delivers it: the stored form and its position at the source."""

    position: int
    event: StoredEvent


class ReceivedEvents(Application[UUID]):
    """The received-events store of one node (a process recorder)."""

    def construct_recorder(self) -> ProcessRecorder:
        return self.factory.process_recorder()

    def construct_mapper(self) -> Mapper[UUID]:
        return stable_names_mapper(self)

    @property
    def process_recorder(self) -> ProcessRecorder:
        return cast(ProcessRecorder, self.recorder)

    def position(self, source: str) -> int:
        """The last position applied from `source` (0: nothing yet)."""
        return self.process_recorder.max_tracking_id(source) or 0

    def decode(self, stored: StoredEvent) -> Any:
        return self.mapper.to_domain_event(stored)

    def stored(self, case_id: UUID) -> Sequence[StoredEvent]:
        return self.recorder.select_events(case_id)

    def receive(self, source: str, deliveries: Sequence[Delivery], known: KnownHashes) -> int:
        """Store a batch from `source` with its last position; returns how many
        events were new. A batch at or below the recorded position is a
        redelivery and changes nothing."""
        if not deliveries:
            return 0
        last = deliveries[-1].position
        if last <= self.position(source):
            return 0
        fresh = [d for d in deliveries if d.position > self.position(source)]
        verified = self._verify(source, [d.event for d in fresh], known)
        events = _renamed([d.event for d in fresh])
        tracking = Tracking(application_name=source, notification_id=last)
        try:
            self.process_recorder.insert_events(events, tracking=tracking)
            stored = len(events)
        except IntegrityError:
            # Some events are already here (a handoff imported them, or
            # another path delivered them): store only the rest.
            if self.position(source) >= last:
                return 0
            missing = [e for e in events if not self._holds(e)]
            self.process_recorder.insert_events(missing, tracking=tracking)
            stored = len(missing)
        for case_id, version, hash_ in verified:
            known.remember(case_id, version, hash_)
        return stored

    def accept_trail(self, source: str, events: Sequence[StoredEvent], known: KnownHashes) -> int:
        """Store the events of a case handed over or pushed by `source` that this
        node lacks, after verifying all of them; returns how many were new."""
        self._verify(source, events, known)
        missing = [
            e
            for e in _renamed(events)
            if known.hash_of(UUID(str(e.originator_id)), e.originator_version) is None
        ]
        if missing:
            try:
                self.process_recorder.insert_events(missing)
            except IntegrityError:
                # A feed stored some of them meanwhile: store what is still missing.
                missing = [e for e in missing if not self._holds(e)]
                self.process_recorder.insert_events(missing)
        return len(missing)

    def _holds(self, stored: StoredEvent) -> bool:
        found = self.recorder.select_events(
            stored.originator_id,
            gt=stored.originator_version - 1,
            lte=stored.originator_version,
        )
        return bool(found)

    def _verify(
        self, source: str, events: Iterable[StoredEvent], known: KnownHashes
    ) -> list[tuple[UUID, int, str]]:
        """Check every case event; return (case, version, hash) of each."""
        in_batch: dict[tuple[str, int], str] = {}
        verified: list[tuple[UUID, int, str]] = []
        for stored in events:
            try:
                event = self.decode(stored)
            except UnreadableEvent as error:
                case, version = str(stored.originator_id), stored.originator_version
                raise TrailBroken(source, case, version, str(error)) from error
            if not isinstance(event, CaseEvent):
                continue
            case = str(event.originator_id)
            if digest(event.hashed_form()) != event.hash:
                raise TrailBroken(source, case, event.originator_version, "hash does not match")
            version = event.originator_version
            expected = (
                GENESIS
                if version == 1
                else in_batch.get((case, version - 1))
                or known.hash_of(event.originator_id, version - 1)
            )
            if expected is not None and expected != event.prev_hash:
                raise TrailBroken(source, case, version, "does not follow the event before it")
            if expected is None:
                # Its predecessor comes by another path (a case that changed
                # owners is in two logs): check the link when it arrives.
                known.await_link(event.originator_id, version - 1, event.prev_hash)
            awaited = known.awaited(event.originator_id, version)
            if awaited is not None and awaited != event.hash:
                raise TrailBroken(source, case, version, "does not match the event after it")
            in_batch[(case, version)] = event.hash
            verified.append((event.originator_id, version, event.hash))
        return verified


def _renamed(events: Sequence[StoredEvent]) -> list[StoredEvent]:
    """The events under their stable names (each was read, so each has one)."""
    return [dataclasses.replace(e, topic=names.stable_name(e.topic)) for e in events]


class KnownHashes:
    """Looks up the hash of a case event this node already holds, in either store.

    The hashes of recently stored events are kept in memory: a follower
    checks each received event against the one before it, which it has
    usually just stored. So are the links still to check: the `prev_hash`
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
