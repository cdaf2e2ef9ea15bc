"""The single writer (单一写入者) of a notification log, and its repair on start.

One append, under the writer's lock:

1. check: no (aggregate, version) repeats or is stored, and the tracking
   position (if any) is past the recorded one;
2. the log: ids `next .. next + n - 1` go into the bucket of `next` as one
   conditional batch on that one partition, `IF epoch = <ours>`: a single
   lightweight transaction that is atomic, isolated, and refused once a
   newer writer has put its epoch in the bucket. The tracking position
   rides on the batch's last row. This is the commit point;
3. the aggregate sequences and the tracking row, derived from the batch
   (plain writes, one single-partition batch per aggregate, all at once);
4. hints, not waited for: the bucket of the tail, and `applied` (every
   entry up to it has its sequence rows).

An event is never in a sequence without being in the log, because the log
is written first. A crash between 2 and 3 leaves logged events missing
from their sequences; the next writer (or this one, after a failed step 3)
repairs them from the log before it appends anything: it rewrites the
sequence rows and tracking of every entry after `applied`. Rewriting is
harmless: the rows are the same.

Taking over (after the lease is claimed): starting at the tail hint, put
our epoch into each bucket (a lightweight transaction, which also settles
any half-finished one of the previous writer there), read its last id,
and move on until a bucket is empty. The previous writer's next append
targets one of those buckets, so from then on it is refused; the last id
seen is the true tail. docs/cassandra.md has the failure analysis.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from eventsourcing.persistence import (
    DataError,
    OperationalError,
    ProgrammingError,
    StoredEvent,
    Tracking,
)

from caseledger.ledger.cassandra.lease import WriterFenced, WriterLease
from caseledger.ledger.cassandra.log import LogReader
from caseledger.ledger.cassandra.schema import LOG, PROGRESS
from caseledger.ledger.cassandra.session import CqlSession, OutcomeUnknown, Statement
from caseledger.ledger.cassandra.settings import CassandraSettings
from caseledger.ledger.cassandra.streams import Streams, TrackingTable

_REPAIR_PAGE = 1000


class LogWriter:
    """Appends to one log and its sequences; the only writer while it holds the lease."""

    def __init__(
        self,
        session: CqlSession,
        settings: CassandraSettings,
        log: LogReader,
        streams: Streams,
        tracking: TrackingTable,
    ) -> None:
        self._session = session
        self._log = log
        self._streams = streams
        self._tracking = tracking
        self._table = settings.table(LOG)
        self._progress = settings.table(PROGRESS)
        self._lease = WriterLease(session, settings, log.name)
        self._lock = threading.Lock()
        self._epoch = 0
        self._next = 1
        self._fenced_bucket = -1
        self._hinted_bucket = -1
        self._needs_repair = True
        self._fenced_by: str | None = None
        self._listeners: set[Callable[[], None]] = set()
        self._insert_cql = (
            f"INSERT INTO {self._table} (bucket, id, originator_id, originator_version, topic, "
            "state, tracking_name, tracking_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        )
        self._fence_cql = f"UPDATE {self._table} SET epoch = ? WHERE bucket = ? IF epoch = ?"

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> None:
        """Claim the lease, fence the previous writer and repair what it left."""
        with self._lock:
            self._epoch = self._lease.claim()
            self._recover()

    def close(self) -> None:
        self._lease.release()

    def listen(self, wake: Callable[[], None]) -> None:
        self._listeners.add(wake)

    def unlisten(self, wake: Callable[[], None]) -> None:
        self._listeners.discard(wake)

    # -- appends -------------------------------------------------------------

    def append(self, events: Sequence[StoredEvent], tracking: Tracking | None = None) -> list[int]:
        """Record `events` (and `tracking`) atomically; their notification ids."""
        with self._lock:
            self._ready()
            if not events:
                if tracking is not None:
                    self._tracking.check(tracking)
                    self._session.write(*self._tracking.write(*_pair(tracking)))
                return []
            size = self._log.bucket_size()
            if len(events) > size:
                raise DataError(f"{len(events)} events in one write; at most {size} (bucket size)")
            self._streams.check(events)
            if tracking is not None:
                self._tracking.check(tracking)
            first = self._next
            bucket = first // size
            if bucket > self._fenced_bucket:
                self._fence(bucket, guess=None)
            self._commit(bucket, first, events, tracking)
            self._next = first + len(events)
            self._streams.remember(events)
            if bucket > self._hinted_bucket:
                self._hint("tail_bucket", bucket)
                self._hinted_bucket = bucket
            try:
                self._apply(events, tracking)
            except OperationalError:
                self._needs_repair = True
                raise
            self._hint("applied", self._next - 1)
        for wake in list(self._listeners):
            wake()
        return list(range(first, first + len(events)))

    def _ready(self) -> None:
        if self._lease.lost.is_set() and self._fenced_by is None:
            self._fenced_by = "another process took the lease over"
        if self._fenced_by is not None:
            raise WriterFenced(self._log.name, self._epoch, self._fenced_by)
        if self._needs_repair:
            self._recover()

    def _commit(
        self, bucket: int, first: int, events: Sequence[StoredEvent], tracking: Tracking | None
    ) -> None:
        statements: list[Statement] = [(self._fence_cql, (self._epoch, bucket, self._epoch))]
        last = len(events) - 1
        for offset, event in enumerate(events):
            name, position = _pair(tracking) if offset == last and tracking else (None, None)
            statements.append(
                (
                    self._insert_cql,
                    (
                        bucket,
                        first + offset,
                        self._streams.key(event.originator_id),
                        event.originator_version,
                        event.topic,
                        event.state,
                        name,
                        position,
                    ),
                )
            )
        try:
            outcome = self._session.cas(statements)
        except OutcomeUnknown:
            self._streams.forget()
            if not self._committed(bucket, first, events[0]):
                raise
            return
        if not outcome.applied:
            self._fenced_by = f"the log now belongs to epoch {outcome.current.get('epoch')}"
            raise WriterFenced(self._log.name, self._epoch, self._fenced_by)

    def _committed(self, bucket: int, first: int, event: StoredEvent) -> bool:
        """Settle an append whose answer was lost: a serial read finishes or
        forecloses the Paxos round, so "absent" stays absent."""
        try:
            rows = self._session.rows(
                f"SELECT originator_id, originator_version FROM {self._table} "
                "WHERE bucket = ? AND id = ?",
                (bucket, first),
                serial=True,
            )
        except OperationalError:
            self._needs_repair = True
            raise
        if not rows:
            return False
        row = rows[0]
        mine = (self._streams.key(event.originator_id), event.originator_version)
        if (row["originator_id"], row["originator_version"]) != mine:
            self._fenced_by = f"id {first} was written by another writer"
            raise WriterFenced(self._log.name, self._epoch, self._fenced_by)
        return True

    def _apply(self, events: Sequence[StoredEvent], tracking: Tracking | None) -> None:
        writes = self._streams.writes(events)
        if tracking is not None:
            writes.append([self._tracking.write(*_pair(tracking))])
        self._session.write_all(writes)

    def _hint(self, column: str, value: int) -> None:
        self._session.send(
            f"UPDATE {self._progress} SET {column} = ? WHERE log = ?", (value, self._log.name)
        )

    # -- fencing and repair --------------------------------------------------

    def _fence(self, bucket: int, guess: int | None) -> None:
        """Put our epoch into `bucket` with a lightweight transaction; `guess` is
        the epoch expected there (a wrong guess costs one more round)."""
        seen = guess
        while True:
            outcome = self._session.cas([(self._fence_cql, (self._epoch, bucket, seen))])
            if outcome.applied:
                self._fenced_bucket = max(self._fenced_bucket, bucket)
                return
            seen = outcome.current.get("epoch")
            if seen is not None and seen > self._epoch:
                self._fenced_by = f"bucket {bucket} belongs to epoch {seen}"
                raise WriterFenced(self._log.name, self._epoch, self._fenced_by)

    def _recover(self) -> None:
        progress = self._log.progress()
        if progress.bucket_size is None:
            self._session.write(
                f"UPDATE {self._progress} SET bucket_size = ? WHERE log = ?",
                (self._log.bucket_size(), self._log.name),
            )
        bucket = progress.tail_bucket or 0
        tail, tail_bucket = 0, bucket
        while True:
            self._fence(bucket, guess=self._epoch - 1)
            last = self._log.last_in(bucket)
            if last is None:
                break
            # The bucket that holds the tail, which may lie in the next one's range.
            tail, tail_bucket = last, bucket
            bucket += 1
        if tail == 0 and bucket > 0:
            raise ProgrammingError(f"log {self._log.name}: the tail hint points past the log")
        self._streams.forget()
        self._repair(progress.applied or 0, tail)
        self._next = tail + 1
        self._hinted_bucket = -1
        if tail:
            self._session.write(
                f"UPDATE {self._progress} SET tail_bucket = ?, applied = ? WHERE log = ?",
                (tail_bucket, tail, self._log.name),
            )
        self._needs_repair = False

    def _repair(self, applied: int, tail: int) -> None:
        """Rewrite the sequence rows and tracking of every entry in (applied, tail]."""
        position = applied
        while position < tail:
            entries = self._log.entries(position + 1, _REPAIR_PAGE, stop=tail)
            if not entries:
                raise ProgrammingError(f"log {self._log.name}: id {position + 1} is missing")
            events = [e.notification for e in entries]
            writes = self._streams.writes(events)
            latest: dict[str, int] = {}
            for entry in entries:
                if entry.tracking is not None:
                    name, at = _pair(entry.tracking)
                    latest[name] = max(at, latest.get(name, at))
            for name, at in latest.items():
                recorded = self._tracking.position(name)
                if recorded is None or recorded < at:
                    writes.append([self._tracking.write(name, at)])
            self._session.write_all(writes)
            position = entries[-1].notification.id


def _pair(tracking: Tracking) -> tuple[str, int]:
    return tracking.application_name, tracking.notification_id
