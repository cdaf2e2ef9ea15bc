"""Persistence module for `eventsourcing` on Apache Cassandra 5.0.

Select it like the library's own modules::

    PERSISTENCE_MODULE=caseledger.ledger.cassandra
    CASSANDRA_CONTACT_POINTS=10.0.0.1:9042,10.0.0.2:9042
    CASSANDRA_KEYSPACE=caseledger_370000000000

It stores aggregate sequences, a gap-free notification log with exactly one
writing process (a lease plus a fencing epoch checked by every append), and
tracking positions. The design, the consistency levels and what happens
when a process dies at each step are in docs/cassandra.md; the settings
are read in `caseledger.ledger.cassandra.settings`.
"""

from __future__ import annotations

import threading

from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    InfrastructureFactory,
    ProcessRecorder,
    ProgrammingError,
)
from eventsourcing.utils import Environment, EnvType, resolve_topic

from caseledger.ledger.cassandra.log import LogReader
from caseledger.ledger.cassandra.recorders import (
    CassandraAggregateRecorder,
    CassandraApplicationRecorder,
    CassandraProcessRecorder,
    CassandraTrackingRecorder,
)
from caseledger.ledger.cassandra.schema import (
    STREAMS,
    create_keyspace,
    create_tables,
    log_tables_cql,
    stream_table_cql,
    tracking_table_cql,
)
from caseledger.ledger.cassandra.session import SESSIONS, CqlSession
from caseledger.ledger.cassandra.settings import CassandraSettings
from caseledger.ledger.cassandra.streams import Streams, TrackingTable
from caseledger.ledger.cassandra.writer import LogWriter

__all__ = [
    "CassandraAggregateRecorder",
    "CassandraApplicationRecorder",
    "CassandraDatastore",
    "CassandraFactory",
    "CassandraProcessRecorder",
    "CassandraTrackingRecorder",
    "Factory",
]


class CassandraDatastore:
    """One store (keyspace and table prefix): its session and the parts its recorders share.

    Connects on first use, never in the constructor. The log's writer is
    started (lease claimed, previous writer fenced, repair done) when the
    first application or process recorder is made, unless the store is
    read-only.
    """

    def __init__(self, settings: CassandraSettings) -> None:
        self.settings = settings
        self._lock = threading.RLock()
        self._session: CqlSession | None = None
        self._streams: Streams | None = None
        self._log: LogReader | None = None
        self._writer: LogWriter | None = None
        self._keyspace_ready = False

    @property
    def session(self) -> CqlSession:
        with self._lock:
            if self._session is None:
                self._session = SESSIONS.acquire(self.settings)
            return self._session

    def create_tables(self, statements: list[str]) -> None:
        with self._lock:
            if not self._keyspace_ready:
                create_keyspace(self.session, self.settings)
                self._keyspace_ready = True
            create_tables(self.session, statements)

    def streams(self) -> Streams:
        with self._lock:
            if self._streams is None:
                self._streams = Streams(self.session, self.settings, STREAMS)
            return self._streams

    def log(self) -> LogReader:
        with self._lock:
            if self._log is None:
                self._log = LogReader(self.session, self.settings)
            return self._log

    def writer(self) -> LogWriter | None:
        """The log's writer, started on first call; None when read-only."""
        if self.settings.read_only:
            return None
        with self._lock:
            if self._writer is None:
                writer = LogWriter(
                    self.session,
                    self.settings,
                    self.log(),
                    self.streams(),
                    TrackingTable(self.session, self.settings),
                )
                writer.start()
                self._writer = writer
            return self._writer

    def check_writable(self) -> None:
        if self.settings.read_only:
            raise ProgrammingError("this store was opened read-only (CASSANDRA_READ_ONLY)")

    def close(self) -> None:
        with self._lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
            if self._session is not None:
                SESSIONS.release(self._session)
                self._session = None
            self._streams = None
            self._log = None


class CassandraFactory(InfrastructureFactory[CassandraTrackingRecorder]):
    """Makes the recorders of one Cassandra store from the application's environment."""

    aggregate_recorder_class = CassandraAggregateRecorder
    application_recorder_class = CassandraApplicationRecorder
    tracking_recorder_class = CassandraTrackingRecorder
    process_recorder_class = CassandraProcessRecorder

    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        self.settings = CassandraSettings.from_env(self.env)
        self.datastore = CassandraDatastore(self.settings)

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        table = "stored_" + purpose
        if self.settings.create_tables:
            self.datastore.create_tables([stream_table_cql(self.settings, table)])
        return self.aggregate_recorder_class(self.datastore, events_table_name=table)

    def application_recorder(self) -> ApplicationRecorder:
        cls: type[CassandraApplicationRecorder] = self.application_recorder_class
        topic = self.env.get(self.APPLICATION_RECORDER_TOPIC)
        if topic:
            cls = resolve_topic(topic)
            if not issubclass(cls, CassandraApplicationRecorder):
                raise ProgrammingError(f"{topic} is not a Cassandra application recorder")
        self._create_log_tables()
        return cls(self.datastore)

    def tracking_recorder(
        self, tracking_recorder_class: type[CassandraTrackingRecorder] | None = None
    ) -> CassandraTrackingRecorder:
        cls = tracking_recorder_class
        if cls is None:
            topic = self.env.get(self.TRACKING_RECORDER_TOPIC)
            cls = resolve_topic(topic) if topic else self.tracking_recorder_class
        if not issubclass(cls, CassandraTrackingRecorder):
            raise ProgrammingError(f"{cls} is not a Cassandra tracking recorder")
        if self.settings.create_tables:
            self.datastore.create_tables([tracking_table_cql(self.settings)])
        return cls(self.datastore)

    def process_recorder(self) -> ProcessRecorder:
        cls: type[CassandraProcessRecorder] = self.process_recorder_class
        topic = self.env.get(self.PROCESS_RECORDER_TOPIC)
        if topic:
            cls = resolve_topic(topic)
            if not issubclass(cls, CassandraProcessRecorder):
                raise ProgrammingError(f"{topic} is not a Cassandra process recorder")
        self._create_log_tables()
        return cls(self.datastore)

    def close(self) -> None:
        self.datastore.close()

    def _create_log_tables(self) -> None:
        if self.settings.create_tables:
            self.datastore.create_tables(
                [
                    stream_table_cql(self.settings, STREAMS),
                    *log_tables_cql(self.settings),
                    tracking_table_cql(self.settings),
                ]
            )


Factory = CassandraFactory
