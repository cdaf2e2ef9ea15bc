"""The checks every received event passes before it is stored, in one place.

A batch (a feed's, or a trail handed over) is checked in order: each event
must be readable and have a canonical form, its hash must be the SHA-256 of
that form, it must not contradict a copy of the same version held in the
node's other stores, it must follow the event before it (genesis for the
first; else the one before it in the batch, or the copy this node holds),
and it must be the event that a later one, held already, follows. A failure
is a `TrailBroken` naming the event, the kind of break (a quarantine
`Reason`) and, where two copies met, both hashes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent

from caseledger.ledger.case.events import CaseEvent
from caseledger.ledger.errors import LedgerError, UnreadableEvent
from caseledger.ledger.trail.canonical import GENESIS, digest
from caseledger.ledger.trail.known import KnownHashes
from caseledger.ledger.trail.quarantine import Entry, Reason

COPY_HELD = "another copy of this version is held here"


class TrailBroken(LedgerError):
    """A received event does not verify, or contradicts what this node holds:
    someone altered, dropped or replaced history. `kind` says how; where two
    copies met, `held_hash` is this node's and `received_hash` the other's."""

    def __init__(
        self,
        source: str,
        case: str,
        version: int,
        reason: str,
        *,
        kind: Reason = Reason.BROKEN_LINK,
        held_hash: str = "",
        received_hash: str = "",
    ) -> None:
        self.source = source
        self.case = case
        self.version = version
        self.reason = reason
        self.kind = kind
        self.held_hash = held_hash
        self.received_hash = received_hash
        text = f"event {version} of case {case} from {source}: {reason}"
        if held_hash or received_hash:
            text += f" (held {held_hash or '-'}, received {received_hash or '-'})"
        super().__init__(text)

    def entry(self) -> Entry:
        """The quarantine's record of this break."""
        return Entry(
            case=self.case,
            source=self.source,
            version=self.version,
            reason=self.kind,
            detail=self.reason,
            held_hash=self.held_hash,
            received_hash=self.received_hash,
        )


@dataclass(frozen=True)
class Checked:
    """A case event that verified: what to remember once it is stored."""

    case_id: UUID
    version: int
    hash: str
    awaits: str | None
    """The hash its predecessor must have, when that one is not held yet."""


class TrailChecks:
    """The checks of one batch, in order: each event against the ones before it
    in the batch, against what the node holds, and against the copies of the
    same versions the node's other stores hold (`elsewhere`)."""

    def __init__(
        self,
        source: str,
        known: KnownHashes,
        mapper: Mapper[UUID],
        elsewhere: dict[tuple[UUID, int], str],
    ) -> None:
        self.source = source
        self.known = known
        self.mapper = mapper
        self.elsewhere = elsewhere
        self.in_batch: dict[tuple[UUID, int], str] = {}
        self.links: dict[tuple[UUID, int], str] = {}
        self.checked: dict[tuple[UUID, int], Checked] = {}

    def check(self, stored: StoredEvent) -> Checked | None:
        """Verify one event; None for an event that is no case event. TrailBroken if it fails."""
        case, version = str(stored.originator_id), stored.originator_version

        def broken(reason: str, kind: Reason, held: str = "", came: str = "") -> TrailBroken:
            return TrailBroken(
                self.source, case, version, reason, kind=kind, held_hash=held, received_hash=came
            )

        if version < 1:
            raise broken("versions start at 1", Reason.UNREADABLE)
        try:
            event = self.mapper.to_domain_event(stored)
        except UnreadableEvent as error:
            raise broken(str(error), Reason.UNREADABLE) from error
        if not isinstance(event, CaseEvent):
            return None
        case_id = event.originator_id
        try:
            recomputed = digest(event.hashed_form())
        except (ValueError, TypeError) as error:
            # A lone surrogate, a NaN: content that no canonical encoder writes.
            raise broken(
                f"its content has no canonical form: {error}", Reason.UNREADABLE
            ) from error
        if recomputed != event.hash:
            raise broken("hash does not match", Reason.HASH_MISMATCH, came=event.hash)
        held = self.elsewhere.get((case_id, version))
        if held is not None and held != event.hash:
            raise broken(COPY_HELD, Reason.CONFLICT, held, event.hash)
        try:
            expected = GENESIS if version == 1 else self._held_hash(case_id, version - 1)
        except UnreadableEvent as error:
            reason = f"the event before it, held here, does not decode: {error}"
            raise broken(reason, Reason.UNREADABLE) from error
        if expected is not None and expected != event.prev_hash:
            # Both hashes of the event before it: this node's copy, and the one it follows.
            reason = "does not follow the event before it"
            raise broken(reason, Reason.BROKEN_LINK, expected, event.prev_hash)
        awaited = self.links.get((case_id, version)) or self.known.awaited(case_id, version)
        if awaited is not None and awaited != event.hash:
            reason = "does not match the event after it"
            raise broken(reason, Reason.BROKEN_LINK, awaited, event.hash)
        # Its predecessor comes by another path (a case that changed owners is
        # in two logs): check the link when it arrives.
        awaits = event.prev_hash if expected is None else None
        if awaits is not None:
            self.links[(case_id, version - 1)] = awaits
        self.in_batch[(case_id, version)] = event.hash
        checked = Checked(case_id, version, event.hash, awaits)
        self.checked[(case_id, version)] = checked
        return checked

    def _held_hash(self, case_id: UUID, version: int) -> str | None:
        found = self.in_batch.get((case_id, version))
        return found if found is not None else self.known.hash_of(case_id, version)

    def stored(self, events: Iterable[StoredEvent]) -> None:
        """Remember what was stored, and the links it still awaits."""
        for stored in events:
            checked = self.checked.get((as_uuid(stored.originator_id), stored.originator_version))
            if checked is None:
                continue
            self.known.remember(checked.case_id, checked.version, checked.hash)
            if checked.awaits is not None:
                self.known.await_link(checked.case_id, checked.version - 1, checked.awaits)


def as_uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))
