"""The `eventsourcing` recorders on Cassandra: aggregate, application, tracking, process.

Each recorder is a thin face over the parts of its store
(`CassandraDatastore`): the sequences table, the log reader, the log's
single writer and the tracking table. The application and process
recorders of one store share one writer, so their appends are serialised
in one place and numbered from one sequence.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    ListenNotifySubscription,
    Notification,
    ProcessRecorder,
    ProgrammingError,
    StoredEvent,
    Subscription,
    Tracking,
    TrackingRecorder,
)

from caseledger.ledger.cassandra.log import LogReader
from caseledger.ledger.cassandra.schema import STREAMS
from caseledger.ledger.cassandra.streams import Streams, TrackingTable
from caseledger.ledger.cassandra.writer import LogWriter

if TYPE_CHECKING:
    from caseledger.ledger.cassandra.factory import CassandraDatastore

# How often a subscription looks for appends made by other processes.
POLL_SECONDS = 0.2


class CassandraAggregateRecorder(AggregateRecorder):
    """Aggregate sequences only (snapshots): no log, no lease.

    Uniqueness is checked in this process; two processes writing the same
    snapshot table could both write one (id, version), the later copy
    winning. Snapshots tolerate that: both copies describe the same state.
    """

    def __init__(self, datastore: CassandraDatastore, events_table_name: str = STREAMS) -> None:
        self.datastore = datastore
        self._streams = Streams(datastore.session, datastore.settings, events_table_name)
        self._lock = threading.Lock()

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        if not stored_events:
            return
        self.datastore.check_writable()
        with self._lock:
            self._streams.check(stored_events)
            self.datastore.session.write_all(self._streams.writes(stored_events))
            self._streams.remember(stored_events)

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        return self._streams.select(originator_id, gt=gt, lte=lte, desc=desc, limit=limit)


class CassandraApplicationRecorder(ApplicationRecorder):
    """Aggregate sequences plus the gap-free notification log."""

    def __init__(self, datastore: CassandraDatastore) -> None:
        self.datastore = datastore
        self._streams = datastore.streams()
        self.log: LogReader = datastore.log()
        self._writer: LogWriter | None = datastore.writer()

    @property
    def writer(self) -> LogWriter:
        if self._writer is None:
            raise ProgrammingError("this store was opened read-only (CASSANDRA_READ_ONLY)")
        return self._writer

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        return self.writer.append(stored_events)

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        return self._streams.select(originator_id, gt=gt, lte=lte, desc=desc, limit=limit)

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        return self.log.select(start, limit, stop, topics, inclusive_of_start=inclusive_of_start)

    def max_notification_id(self) -> int | None:
        return self.log.max_id()

    def subscribe(
        self, gt: int | None = None, topics: Sequence[str] = ()
    ) -> Subscription[ApplicationRecorder]:
        return CassandraSubscription(self, gt=gt, topics=topics)


class CassandraTrackingRecorder(TrackingRecorder):
    """Positions of upstream logs processed so far, one row per upstream."""

    def __init__(self, datastore: CassandraDatastore) -> None:
        self.datastore = datastore
        self.tracking = TrackingTable(datastore.session, datastore.settings)
        self._tracking_lock = threading.Lock()

    def insert_tracking(self, tracking: Tracking) -> None:
        self.datastore.check_writable()
        with self._tracking_lock:
            self.tracking.check(tracking)
            self.datastore.session.write(
                *self.tracking.write(tracking.application_name, tracking.notification_id)
            )

    def max_tracking_id(self, application_name: str) -> int | None:
        return self.tracking.position(application_name)


class CassandraProcessRecorder(
    CassandraTrackingRecorder, CassandraApplicationRecorder, ProcessRecorder
):
    """Events recorded together with the upstream position they came from."""

    def __init__(self, datastore: CassandraDatastore) -> None:
        CassandraTrackingRecorder.__init__(self, datastore)
        CassandraApplicationRecorder.__init__(self, datastore)

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        tracking: Tracking | None = kwargs.get("tracking")
        return self.writer.append(stored_events, tracking)

    def insert_tracking(self, tracking: Tracking) -> None:
        # Through the writer, so it is ordered with the appends that carry tracking.
        self.writer.append([], tracking)


class CassandraSubscription(ListenNotifySubscription[CassandraApplicationRecorder]):
    """Follows the log: woken at once by this process's appends, and every
    POLL_SECONDS for those of other processes."""

    def __init__(
        self,
        recorder: CassandraApplicationRecorder,
        gt: int | None = None,
        topics: Sequence[str] = (),
    ) -> None:
        super().__init__(recorder=recorder, gt=gt, topics=topics)
        self._writer = recorder._writer
        if self._writer is not None:
            self._writer.listen(self._has_been_notified.set)
        self._ticker = threading.Thread(target=self._tick, name="log-poll", daemon=True)
        self._ticker.start()

    def _tick(self) -> None:
        while not self._has_been_stopped:
            self._has_been_notified.set()
            time.sleep(POLL_SECONDS)

    def stop(self) -> None:
        super().stop()
        if self._writer is not None:
            self._writer.unlisten(self._has_been_notified.set)
