"""Reading the notification log (通知日志) of a store on Cassandra.

Layout: ids are 1, 2, 3, ... with no gaps. Rows live in partitions called
buckets; an append batch is written whole into the bucket of its first id,
`bucket = first_id // bucket_size`, so a batch may run past its bucket's
range into the next one but never further (a batch is never larger than a
bucket). A bucket therefore holds about `bucket_size` rows, the province's
log spreads over many partitions, and every bucket up to the tail holds at
least one batch.

Reading from id `s` asks bucket(s) - 1 for rows at or after `s` (the end of
a batch that started there), then bucket(s), bucket(s) + 1, ... until a
bucket has none. The rows come back in id order, and the reader stops at
the first missing id: a batch in a later bucket can be committed after the
reader looked at an earlier one, and returning past such a hole would skip
ids that appear a moment later. Readers rely on never being skipped.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from eventsourcing.persistence import Notification, Tracking

from caseledger.ledger.cassandra.schema import LOG, PROGRESS
from caseledger.ledger.cassandra.session import CqlSession, Row
from caseledger.ledger.cassandra.settings import CassandraSettings

_PAGE = 1000


@dataclass(frozen=True)
class LogEntry:
    """A notification and the upstream position recorded with its batch, if any."""

    notification: Notification
    tracking: Tracking | None


@dataclass(frozen=True)
class Progress:
    """The writer's hints: both only ever lag the truth."""

    bucket_size: int | None
    tail_bucket: int | None
    applied: int | None


class LogReader:
    """Gap-free reads of one notification log."""

    def __init__(self, session: CqlSession, settings: CassandraSettings) -> None:
        self._session = session
        self._settings = settings
        self._table = settings.table(LOG)
        self._progress_table = settings.table(PROGRESS)
        self.name = f"{settings.keyspace}.{settings.table_prefix}{LOG}"
        self._bucket_size: int | None = None
        self._last_bucket = 0

    # -- layout --------------------------------------------------------------

    def progress(self) -> Progress:
        rows = self._session.rows(
            f"SELECT bucket_size, tail_bucket, applied FROM {self._progress_table} WHERE log = ?",
            (self.name,),
        )
        if not rows:
            return Progress(None, None, None)
        row = rows[0]
        return Progress(row["bucket_size"], row["tail_bucket"], row["applied"])

    def bucket_size(self) -> int:
        """The log's bucket size: fixed when the log is first written, then read back."""
        if self._bucket_size is None:
            stored = self.progress().bucket_size
            if stored is None:
                return self._settings.log_bucket_size
            self._bucket_size = stored
        return self._bucket_size

    def bucket_of(self, notification_id: int) -> int:
        return notification_id // self.bucket_size()

    def last_in(self, bucket: int) -> int | None:
        """The highest id stored in `bucket` (None: no rows there yet)."""
        rows = self._session.rows(
            f"SELECT id FROM {self._table} WHERE bucket = ? ORDER BY id DESC LIMIT 1", (bucket,)
        )
        return rows[0]["id"] if rows and rows[0]["id"] is not None else None

    # -- reads ---------------------------------------------------------------

    def max_id(self) -> int | None:
        """The last id of the log: from the furthest bucket known, forward to an empty one."""
        bucket = self._last_bucket or (self.progress().tail_bucket or 0)
        last = None
        while (found := self.last_in(bucket)) is not None:
            last = found
            self._last_bucket = bucket
            bucket += 1
        if last is None and bucket > 0:
            # The known bucket is empty: the tables were emptied behind our back.
            self._last_bucket = 0
            return self._scan_from_zero()
        return last

    def select(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> list[Notification]:
        first = 1 if start is None else (start if inclusive_of_start else start + 1)
        return [e.notification for e in self.entries(max(first, 1), limit, stop, topics)]

    def entries(
        self, first: int, limit: int, stop: int | None = None, topics: Sequence[str] = ()
    ) -> list[LogEntry]:
        """Up to `limit` entries from id `first` on, in order, ending at the first hole."""
        wanted = frozenset(topics)
        found: list[LogEntry] = []
        expected = first
        bucket = self.bucket_of(first)
        for current in range(max(bucket - 1, 0), 1 << 62):
            if limit <= len(found) or (stop is not None and expected > stop):
                break
            seen = False
            for row in self._rows(current, expected, stop, None if wanted else limit - len(found)):
                seen = True
                if row["id"] != expected:
                    return found  # A hole: a later batch committed before an earlier one was read.
                expected += 1
                if not wanted or row["topic"] in wanted:
                    found.append(_entry(row))
                    if len(found) == limit:
                        break
            if not seen and current >= bucket:
                break
        return found

    def _rows(self, bucket: int, lowest: int, stop: int | None, limit: int | None) -> Iterator[Row]:
        cql = (
            "SELECT id, originator_id, originator_version, topic, state, tracking_name, "
            f"tracking_id FROM {self._table} WHERE bucket = ? AND id >= ?"
        )
        params: list[object] = [bucket, lowest]
        if stop is not None:
            cql += " AND id <= ?"
            params.append(stop)
        if limit is not None:
            cql += " LIMIT ?"
            params.append(limit)
        for row in self._session.paged(cql, params, page=min(limit or _PAGE, _PAGE)):
            if row["id"] is not None:
                yield row

    def _scan_from_zero(self) -> int | None:
        bucket, last = 0, None
        while (found := self.last_in(bucket)) is not None:
            last, self._last_bucket = found, bucket
            bucket += 1
        return last


def _entry(row: Row) -> LogEntry:
    notification = Notification(
        id=row["id"],
        originator_id=row["originator_id"],
        originator_version=row["originator_version"],
        topic=row["topic"],
        state=row["state"],
    )
    name = row["tracking_name"]
    tracking = None if name is None else Tracking(name, row["tracking_id"])
    return LogEntry(notification, tracking)
