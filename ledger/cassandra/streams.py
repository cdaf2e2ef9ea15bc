"""Aggregate sequences (事件流) and tracking positions on Cassandra.

A sequence is one partition keyed by the aggregate's id (a case's trail is
tens of events). Uniqueness of (id, version) is checked by the single
writer before it writes, not by the store: a conditional write per
aggregate would cost a lightweight transaction per case and still could not
make a batch over several cases atomic. The check reads each aggregate's
last version once and then keeps it in a bounded cache, which is exact
because no other process writes (the writer lease and fencing guarantee
that for the application and process recorders).
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from collections.abc import Sequence
from uuid import UUID

from eventsourcing.persistence import IntegrityError, StoredEvent, Tracking

from caseledger.ledger.cassandra.schema import TRACKING
from caseledger.ledger.cassandra.session import CqlSession, Statement
from caseledger.ledger.cassandra.settings import CassandraSettings

_HEADS_CACHED = 100_000


class Streams:
    """One table of aggregate sequences: reads, uniqueness checks and writes."""

    def __init__(self, session: CqlSession, settings: CassandraSettings, table: str) -> None:
        self._session = session
        self._table = settings.table(table)
        self._uuid = settings.originator_id_type == "uuid"
        # Last version per aggregate (None: no events). Guarded by the writer's lock.
        self._heads: OrderedDict[UUID | str, int | None] = OrderedDict()
        self.insert_cql = (
            f"INSERT INTO {self._table} (originator_id, originator_version, topic, state) "
            "VALUES (?, ?, ?, ?)"
        )

    def key(self, originator_id: UUID | str) -> UUID | str:
        if self._uuid:
            return originator_id if isinstance(originator_id, UUID) else UUID(originator_id)
        return str(originator_id)

    def select(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> list[StoredEvent]:
        key = self.key(originator_id)
        cql = f"SELECT originator_version, topic, state FROM {self._table} WHERE originator_id = ?"
        params: list[object] = [key]
        if gt is not None:
            cql += " AND originator_version > ?"
            params.append(gt)
        if lte is not None:
            cql += " AND originator_version <= ?"
            params.append(lte)
        cql += " ORDER BY originator_version " + ("DESC" if desc else "ASC")
        if limit is not None:
            cql += " LIMIT ?"
            params.append(limit)
        return [
            StoredEvent(key, row["originator_version"], row["topic"], row["state"])
            for row in self._session.rows(cql, params)
        ]

    def check(self, events: Sequence[StoredEvent]) -> None:
        """IntegrityError if any (aggregate, version) repeats in `events` or is stored."""
        versions: dict[UUID | str, set[int]] = defaultdict(set)
        for event in events:
            mine = versions[self.key(event.originator_id)]
            if event.originator_version in mine:
                raise IntegrityError(
                    f"version {event.originator_version} of {event.originator_id} "
                    "appears twice in one write"
                )
            mine.add(event.originator_version)
        self._load_heads([key for key in versions if key not in self._heads])
        for key, mine in versions.items():
            head = self._heads[key]
            self._heads.move_to_end(key)
            if head is None or min(mine) > head:
                continue
            found = self._session.rows(
                f"SELECT originator_version FROM {self._table} "
                "WHERE originator_id = ? AND originator_version IN ?",
                (key, sorted(v for v in mine if v <= head)),
            )
            if found:
                raise IntegrityError(
                    f"version {found[0]['originator_version']} of {key} is already stored"
                )

    def writes(self, events: Sequence[StoredEvent]) -> list[list[Statement]]:
        """The rows of `events`, one group per aggregate (one partition each)."""
        groups: dict[UUID | str, list[Statement]] = defaultdict(list)
        for event in events:
            key = self.key(event.originator_id)
            groups[key].append(
                (self.insert_cql, (key, event.originator_version, event.topic, event.state))
            )
        return list(groups.values())

    def remember(self, events: Sequence[StoredEvent]) -> None:
        """Record the new last versions after `events` are committed."""
        for event in events:
            key = self.key(event.originator_id)
            head = self._heads.get(key)
            if head is None or event.originator_version > head:
                self._heads[key] = event.originator_version
            self._heads.move_to_end(key)
        while len(self._heads) > _HEADS_CACHED:
            self._heads.popitem(last=False)

    def forget(self) -> None:
        """Drop every cached last version (after a write whose outcome was unknown)."""
        self._heads.clear()

    def _load_heads(self, keys: list[UUID | str]) -> None:
        if not keys:
            return
        cql = (
            f"SELECT originator_version FROM {self._table} WHERE originator_id = ? "
            "ORDER BY originator_version DESC LIMIT 1"
        )
        answers = self._session.read_all([(cql, (key,)) for key in keys])
        for key, rows in zip(keys, answers, strict=True):
            self._heads[key] = rows[0]["originator_version"] if rows else None


class TrackingTable:
    """The position processed so far per upstream application (one row each)."""

    def __init__(self, session: CqlSession, settings: CassandraSettings) -> None:
        self._session = session
        self._table = settings.table(TRACKING)

    def position(self, application_name: str) -> int | None:
        rows = self._session.rows(
            f"SELECT notification_id FROM {self._table} WHERE application_name = ?",
            (application_name,),
        )
        return rows[0]["notification_id"] if rows else None

    def check(self, tracking: Tracking) -> None:
        """IntegrityError unless `tracking` is past the recorded position."""
        position = self.position(tracking.application_name)
        if position is not None and tracking.notification_id <= position:
            raise IntegrityError(
                f"tracking {tracking.notification_id} of {tracking.application_name} "
                f"is not after the recorded position {position}"
            )

    def write(self, application_name: str, notification_id: int) -> Statement:
        return (
            f"INSERT INTO {self._table} (application_name, notification_id) VALUES (?, ?)",
            (application_name, notification_id),
        )
