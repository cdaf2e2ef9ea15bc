"""Events a node holds but did not author, and where each came from.

Received events live in a store of their own, never in the node's authored
log, so a node never re-publishes what it received. Each batch from a source
is written together with the source's position (`Tracking`) in one
transaction: after a crash the feed resumes from the recorded position, and a
redelivered batch changes nothing.

Every event is checked before it is stored: it must be readable (a name in
the registry of stable names, a shape its class has, content with a
canonical form), and a case event's hash must match its canonical form, its
`prev_hash` the event before it when this node holds that one, and any copy
of the same version this node holds already (a second copy with another
hash is a conflict, never kept or dropped in silence). What is stored goes
by its stable name, whichever alias the source sent.

What happens to an event that fails depends on the store's quarantine:

- with one (every node has one): the event's case is quarantined with the
  evidence (`quarantine.Quarantine`), that event and every later one of the
  case are held there instead of applied, and the rest of the batch is
  stored with the batch's position, so the source's other cases go on;
- without one: the batch is refused whole (`TrailBroken`), as a handed-over
  trail always is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
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
from eventsourcing.utils import EnvType

from caseledger.ledger import names
from caseledger.ledger.case.events import CaseEvent
from caseledger.ledger.errors import UnreadableEvent
from caseledger.ledger.mapper import stable_names_mapper
from caseledger.ledger.trail.checks import COPY_HELD, TrailBroken, TrailChecks, as_uuid
from caseledger.ledger.trail.known import KnownHashes
from caseledger.ledger.trail.quarantine import Quarantine, Reason

__all__ = ["Delivery", "KnownHashes", "ReceivedEvents", "TrailBroken"]


@dataclass(frozen=True)
class Delivery:
    """One event as a feed delivers it: the stored form and its position at the source."""

    position: int
    event: StoredEvent


class ReceivedEvents(Application[UUID]):
    """The received-events store of one node (a process recorder), and its quarantine."""

    def __init__(self, env: EnvType | None = None, quarantine: Quarantine | None = None) -> None:
        super().__init__(env=env)
        self.quarantine = quarantine

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

    def advance(self, source: str, position: int) -> None:
        """Record `source`'s position with no events (what was passed over there
        carries none, or cannot be carried)."""
        self.process_recorder.insert_tracking(
            Tracking(application_name=source, notification_id=position)
        )

    def decode(self, stored: StoredEvent) -> Any:
        return self.mapper.to_domain_event(stored)

    def stored(self, case_id: UUID) -> Sequence[StoredEvent]:
        return self.recorder.select_events(case_id)

    def receive(self, source: str, deliveries: Sequence[Delivery], known: KnownHashes) -> int:
        """Store a batch from `source` with its last position; returns how many
        events were new. A batch at or below the recorded position is a
        redelivery and changes nothing. With a quarantine, a case that breaks
        is quarantined and the rest stored; without, TrailBroken refuses all."""
        if not deliveries:
            return 0
        last = deliveries[-1].position
        tracked = self.position(source)
        if last <= tracked:
            return 0
        fresh = [d for d in deliveries if d.position > tracked]
        batch = TrailChecks(source, known, self.mapper, self._elsewhere(fresh, known))
        if self.quarantine is None:
            for delivery in fresh:
                batch.check(delivery.event)
            taken = fresh
        else:
            taken = self._sort_out(batch, fresh, self.quarantine)
        tracking = Tracking(application_name=source, notification_id=last)
        events = _renamed([d.event for d in taken])
        try:
            self.process_recorder.insert_events(events, tracking=tracking)
        except IntegrityError:
            # Some events are already here (a handoff imported them, or
            # another path delivered them): store only the rest, and compare
            # each copy held with the one that came.
            if self.position(source) >= last:
                return 0
            taken = self._not_held(source, taken)
            events = _renamed([d.event for d in taken])
            self.process_recorder.insert_events(events, tracking=tracking)
        batch.stored(events)
        return len(events)

    def accept_trail(
        self,
        source: str,
        events: Sequence[StoredEvent],
        known: KnownHashes,
        admit: Callable[[], None] | None = None,
    ) -> int:
        """Store the events of a case handed over or pushed by `source` that this
        node lacks, after verifying all of them; returns how many were new.

        A trail that does not verify is refused whole (TrailBroken). One that
        contradicts what this node holds (another copy of a version held, or
        an event that does not follow the copy held before it) is also
        recorded in the quarantine, with both hashes; a trail of a case in
        quarantine is held there, not applied."""
        batch = TrailChecks(source, known, self.mapper, {})
        missing: list[StoredEvent] = []
        try:
            for stored in events:
                checked = batch.check(stored)
                if checked is None:
                    missing.append(stored)
                    continue
                try:
                    held = known.hash_of(checked.case_id, checked.version)
                except UnreadableEvent:
                    held = ""  # this node's copy is damaged: the two cannot be the same
                if held is None:
                    missing.append(stored)
                elif held != checked.hash:
                    raise TrailBroken(
                        source,
                        str(checked.case_id),
                        checked.version,
                        COPY_HELD if held else "the copy of this version held here does not decode",
                        kind=Reason.CONFLICT,
                        held_hash=held,
                        received_hash=checked.hash,
                    )
        except TrailBroken as broken:
            if self.quarantine is not None and (broken.held_hash or broken.kind is Reason.CONFLICT):
                self._quarantine(broken, [Delivery(0, e) for e in events], self.quarantine)
            raise
        quarantine = self.quarantine
        if missing and quarantine is not None and quarantine.holds(str(missing[0].originator_id)):
            case = str(missing[0].originator_id)
            for stored in missing:
                _hold(quarantine, source, Delivery(0, stored))
            raise TrailBroken(
                source,
                case,
                missing[0].originator_version,
                "the case is quarantined here: its events are held, not applied",
            )
        if admit is not None:
            # The caller's own rules (who may have written the trail), once it
            # verified and before any of it is stored; they raise to refuse it.
            admit()
        missing = _renamed(missing)
        if missing:
            try:
                self.process_recorder.insert_events(missing)
            except IntegrityError:
                # A feed stored some of them meanwhile: store what is still missing.
                missing = [e for e in missing if self._held_copy(e) is None]
                self.process_recorder.insert_events(missing)
        batch.stored(missing)
        return len(missing)

    def _elsewhere(
        self, deliveries: Sequence[Delivery], known: KnownHashes
    ) -> dict[tuple[UUID, int], str]:
        """The hashes of the copies the node's other stores hold of the batch's
        case events (one look-up per case): a node that took a case over
        authored some of its versions, and a copy from elsewhere must match."""
        spans: dict[UUID, tuple[int, int]] = {}
        for delivery in deliveries:
            stored = delivery.event
            if not names.is_case_event(stored.topic):
                continue
            case_id = as_uuid(stored.originator_id)
            low, high = spans.get(case_id, (stored.originator_version, stored.originator_version))
            spans[case_id] = (
                min(low, stored.originator_version),
                max(high, stored.originator_version),
            )
        found: dict[tuple[UUID, int], str] = {}
        for case_id, (low, high) in spans.items():
            for version, hash_ in known.held_elsewhere(case_id, low, high, self).items():
                found[(case_id, version)] = hash_
        return found

    def _sort_out(
        self, batch: TrailChecks, deliveries: Sequence[Delivery], quarantine: Quarantine
    ) -> list[Delivery]:
        """The deliveries to store: each verified, and of no case in quarantine.
        A case that breaks is quarantined with its evidence and held from there on."""
        taken: list[Delivery] = []
        for index, delivery in enumerate(deliveries):
            case = str(delivery.event.originator_id)
            if quarantine.holds(case):
                _hold(quarantine, batch.source, delivery)
                continue
            try:
                batch.check(delivery.event)
            except TrailBroken as broken:
                self._quarantine(broken, deliveries[index:], quarantine)
                continue
            taken.append(delivery)
        return taken

    def _quarantine(
        self, broken: TrailBroken, deliveries: Sequence[Delivery], quarantine: Quarantine
    ) -> None:
        """Record the break, then hold the event that broke (the first of
        `deliveries` of its case at its version or later)."""
        quarantine.record(broken.entry())
        for delivery in deliveries:
            stored = delivery.event
            if (str(stored.originator_id), stored.originator_version) == (
                broken.case,
                broken.version,
            ):
                _hold(quarantine, broken.source, delivery)
                return

    def _not_held(self, source: str, deliveries: Sequence[Delivery]) -> list[Delivery]:
        """The deliveries whose versions this store does not hold yet. A case
        event held here with another hash is a conflict: refused (TrailBroken)
        without a quarantine, quarantined with both hashes with one, and the
        case's later events in the batch are held with it."""
        taken: list[Delivery] = []
        for index, delivery in enumerate(deliveries):
            case = str(delivery.event.originator_id)
            if self.quarantine is not None and self.quarantine.holds(case):
                _hold(self.quarantine, source, delivery)
                continue
            held = self._held_copy(delivery.event)
            if held is None:
                taken.append(delivery)
                continue
            conflict = self._conflict(source, held, delivery.event)
            if conflict is None:
                continue  # the same event, held already
            if self.quarantine is None:
                raise conflict
            self._quarantine(conflict, deliveries[index:], self.quarantine)
        return taken

    def _conflict(self, source: str, held: StoredEvent, came: StoredEvent) -> TrailBroken | None:
        """A conflict if two copies of one case event differ; None if they are
        the same event, or no case event (catalogue items of one code are
        published at several nodes, and the first copy stays)."""
        if not names.is_case_event(came.topic):
            return None
        case, version = str(came.originator_id), came.originator_version
        try:
            held_hash = cast(CaseEvent, self.decode(held)).hash
        except UnreadableEvent:
            held_hash = ""
        came_hash = cast(CaseEvent, self.decode(came)).hash  # verified, so readable
        if held_hash == came_hash:
            return None
        reason = COPY_HELD if held_hash else "the copy of this version held here does not decode"
        return TrailBroken(
            source,
            case,
            version,
            reason,
            kind=Reason.CONFLICT,
            held_hash=held_hash,
            received_hash=came_hash,
        )

    def _held_copy(self, stored: StoredEvent) -> StoredEvent | None:
        found = self.recorder.select_events(
            stored.originator_id,
            gt=stored.originator_version - 1,
            lte=stored.originator_version,
        )
        return found[0] if found else None

    def close(self) -> None:
        super().close()
        if self.quarantine is not None:
            self.quarantine.close()


def _hold(quarantine: Quarantine, source: str, delivery: Delivery) -> None:
    quarantine.hold(source, delivery.position, delivery.event)


def _renamed(events: Sequence[StoredEvent]) -> list[StoredEvent]:
    """The events under their stable names (each was read, so each has one)."""
    return [dataclasses.replace(e, topic=names.stable_name(e.topic)) for e in events]
