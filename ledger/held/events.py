"""The events a node holds: those it authored and those it received, as one.

A node keeps what it authored (its log, which it publishes and signs) apart
from what it received (never re-published), in two stores. Everything else
about them is one concern, owned here: reading a case's trail merged from
both, the hashes of the case events held in either, importing a trail
handed over or pushed by another node, following either log
(`following.LogTail`), and the positions of the node's own followers.
Code outside the ledger goes through this object, never into the stores.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Notification, ProcessRecorder, StoredEvent, Tracking

from caseledger.ledger.held.following import LogTail
from caseledger.ledger.trail.known import KnownHashes
from caseledger.ledger.trail.received import ReceivedEvents

__all__ = ["HeldEvents", "NoReceivedStore"]


class NoReceivedStore(RuntimeError):
    """What needs the received-events store was asked of a ledger that has none."""


class HeldEvents:
    """A node's authored and received events (`received` None: authored only)."""

    def __init__(self, authored: Application[UUID], received: ReceivedEvents | None) -> None:
        self._authored = authored
        self._received = received
        self.known_hashes = KnownHashes([authored] if received is None else [authored, received])

    # -- the authored log ------------------------------------------------------

    def head(self) -> int:
        """The position of the last event in the authored log (0: none yet)."""
        return self._authored.recorder.max_notification_id() or 0

    def read_authored(
        self, after: int, limit: int, topics: Sequence[str] = ()
    ) -> Sequence[Notification]:
        """Up to `limit` notifications of the authored log after a position."""
        return self._authored.recorder.select_notifications(
            start=after + 1, limit=limit, topics=topics
        )

    def follow_authored(
        self, after: int, topics: Sequence[str] = (), name: str = "authored-tail"
    ) -> LogTail:
        """The authored log after `after`, as it is committed."""
        return LogTail(self._authored.recorder, after, topics, name)

    def follow_received(self, after: int, name: str = "received-tail") -> LogTail:
        """The received events after `after`, as they are stored: a feed's
        batch or an imported trail wakes whoever follows them."""
        return LogTail(self._store().recorder, after, (), name)

    # -- trails ----------------------------------------------------------------

    def copies(self, aggregate_id: UUID) -> tuple[dict[int, StoredEvent], dict[int, StoredEvent]]:
        """An aggregate's events as stored, by version: the authored copies and
        the received ones (a version can be in both once a handoff imported it)."""
        authored = self._authored.recorder.select_events(aggregate_id)
        received = () if self._received is None else self._received.stored(aggregate_id)
        return (
            {e.originator_version: e for e in authored},
            {e.originator_version: e for e in received},
        )

    def stored_trail(self, aggregate_id: UUID, after_version: int = 0) -> list[StoredEvent]:
        """An aggregate's events as stored, from both stores, after a version, in
        order; where both hold a version (a handoff imported it), the authored one."""
        by_version = {
            e.originator_version: e
            for e in self._authored.recorder.select_events(aggregate_id, gt=after_version)
        }
        if self._received is not None:
            for e in self._received.recorder.select_events(aggregate_id, gt=after_version):
                by_version.setdefault(e.originator_version, e)
        return [by_version[v] for v in sorted(by_version)]

    def import_trail(
        self,
        source: str,
        events: Sequence[StoredEvent],
        admit: Callable[[], None] | None = None,
    ) -> int:
        """Store the events of a trail from `source` that this node lacks, after
        verifying all of them against what it holds in either store; returns how
        many were new (`ReceivedEvents.accept_trail`: TrailBroken refuses it)."""
        return self._store().accept_trail(source, events, self.known_hashes, admit)

    # -- positions of the node's own followers -----------------------------------

    def follower_position(self, follower: str) -> int:
        """The last position of the authored log `follower` recorded as done."""
        return self._tracking().max_tracking_id(follower) or 0

    def record_follower_position(self, follower: str, position: int) -> None:
        self._tracking().insert_tracking(Tracking(follower, position))

    def _tracking(self) -> ProcessRecorder:
        # Kept in the received store: the authored log holds events only.
        return cast(ProcessRecorder, self._store().recorder)

    def _store(self) -> ReceivedEvents:
        if self._received is None:
            raise NoReceivedStore("this ledger keeps no received events")
        return self._received
