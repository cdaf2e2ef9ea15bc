"""The one place that talks to `cassandra-driver`: a small typed session.

The driver is untyped; everything past this module sees rows as plain
dicts, statements as CQL text with positional parameters, and errors as the
`eventsourcing` persistence errors (translated here and nowhere else):

- the request may have been applied (a write timed out, or failed on some
  replicas): `OutcomeUnknown`, an `OperationalError` the log writer resolves;
- the cluster cannot serve it (no host, unavailable, read timeout):
  `OperationalError`; when the nodes answer but too few replicas are alive
  for the consistency level (a keyspace's replication factor beyond the
  cluster: LOCAL_QUORUM with factor 3 on one node), `ConsistencyUnmet`,
  which says so rather than calling the cluster unreachable;
- the statement is wrong for the schema (no such table, bad CQL):
  `ProgrammingError`.

Sessions are shared: every factory of a process that names the same
cluster uses one driver `Cluster` (its own thread and connection pool),
closed when the last user closes it.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from cassandra import (
    ConsistencyLevel,
    DriverException,
    InvalidRequest,
    OperationTimedOut,
    RequestExecutionException,
    RequestValidationException,
    Unavailable,
    WriteFailure,
    WriteTimeout,
)
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, NoHostAvailable
from cassandra.connection import DefaultEndPoint
from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy
from cassandra.query import BatchStatement, BatchType, dict_factory
from eventsourcing.persistence import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
)

from caseledger.ledger.cassandra.settings import CassandraSettings

Row = dict[str, Any]
Params = Sequence[Any]
Statement = tuple[str, Params]
# Told the kind of request (`cas`, `write_all`), its (first) statements and seconds taken.
Observer = Callable[[str, Sequence[Statement], float], None]

_SCHEMA_TIMEOUT = 60.0


class OutcomeUnknown(OperationalError):
    """A write may or may not have been applied (timed out or failed on some replicas)."""


class ConsistencyUnmet(OperationalError):
    """The cluster answered, but has fewer live replicas than the consistency level needs."""

    def __init__(self, unavailable: Unavailable) -> None:
        level = ConsistencyLevel.value_to_name.get(unavailable.consistency, "?")
        self.consistency = str(level)
        self.required = int(unavailable.required_replicas or 0)
        self.alive = int(unavailable.alive_replicas or 0)
        super().__init__(
            f"Cassandra cannot meet consistency {self.consistency}: it needs "
            f"{self.required} live replica(s) of the data and has {self.alive}: nodes of the "
            "cluster that hold the data are down (send the request again once they are "
            "back), or the keyspace's replication factor asks more of this cluster than its "
            "nodes can give (CASSANDRA_REPLICATION_FACTOR, a network file's "
            "replication_factor: at most the number of nodes; or lower the consistency, "
            "docs/cassandra.md)"
        )


def _unavailable(error: NoHostAvailable) -> Unavailable | None:
    """The first host's answer that too few replicas were alive, if that is why no host served."""
    answers = getattr(error, "errors", None) or {}
    return next((a for a in answers.values() if isinstance(a, Unavailable)), None)


@dataclass(frozen=True)
class CasOutcome:
    """The answer to a conditional write: applied, or the values that failed the condition."""

    applied: bool
    current: Row


class CqlSession:
    """Statements against one cluster at the configured consistency levels."""

    def __init__(self, settings: CassandraSettings) -> None:
        self.settings = settings
        self._read = _level(settings.read_consistency)
        self._write = _level(settings.write_consistency)
        self._serial = _level(settings.serial_consistency)
        profile = ExecutionProfile(
            load_balancing_policy=TokenAwarePolicy(
                DCAwareRoundRobinPolicy(local_dc=settings.local_dc)
            ),
            consistency_level=self._read,
            serial_consistency_level=self._serial,
            request_timeout=settings.request_timeout,
            row_factory=dict_factory,
        )
        self._cluster = Cluster(
            contact_points=[DefaultEndPoint(p.host, p.port) for p in settings.contact_points],
            protocol_version=5,
            execution_profiles={EXEC_PROFILE_DEFAULT: profile},
            connect_timeout=settings.request_timeout,
            control_connection_timeout=settings.request_timeout,
            # A schema change returns once every live node has it (the driver's
            # 10 s were too short on a loaded cluster: the first writes then met
            # a member without the new table, INCOMPATIBLE_SCHEMA).
            max_schema_agreement_wait=int(_SCHEMA_TIMEOUT),
            # Without it a request of more than one TCP segment waits out the
            # peer's delayed ACK (40 ms) behind Nagle's algorithm.
            sockopts=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        )
        self._prepared: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.observer: Observer | None = None
        with translated(write=False):
            self._session = self._cluster.connect()

    # -- statements ----------------------------------------------------------

    def rows(self, cql: str, params: Params = (), *, serial: bool = False) -> list[Row]:
        """Read every row (the driver pages behind the scenes)."""
        return list(self.paged(cql, params, serial=serial))

    def paged(
        self, cql: str, params: Params = (), *, serial: bool = False, page: int = 1000
    ) -> Iterator[Row]:
        """Read lazily, one page of `page` rows at a time."""
        bound = self._bind(cql, params, self._serial if serial else self._read)
        bound.fetch_size = page
        with translated(write=False):
            result = self._session.execute(bound)
            for row in result:
                yield dict(row)

    def read_all(self, reads: Sequence[Statement]) -> list[list[Row]]:
        """Send every read at once; the answers in the order asked."""
        with translated(write=False):
            futures = [
                self._session.execute_async(self._bind(cql, params, self._read))
                for cql, params in reads
            ]
            return [[dict(row) for row in future.result()] for future in futures]

    def write(self, cql: str, params: Params = ()) -> None:
        with translated(write=True):
            self._session.execute(self._bind(cql, params, self._write))

    def write_all(self, writes: Sequence[Sequence[Statement]]) -> None:
        """Send each group as one unlogged batch, all groups at once, and wait for all.

        A group must name one partition: a single-partition batch is applied
        atomically and in isolation on each replica. If any group fails,
        every other one has still been waited for, so nothing is in flight
        when this raises.
        """
        started = time.perf_counter()
        with translated(write=True):
            futures = [self._session.execute_async(self._group(group)) for group in writes]
            errors = []
            for future in futures:
                try:
                    future.result()
                except Exception as error:
                    errors.append(error)
            if errors:
                raise errors[0]
        self._observe("write_all", writes[0] if writes else [], started)

    def send(self, cql: str, params: Params = ()) -> None:
        """Write without waiting: for hints whose loss costs only time."""
        future = self._session.execute_async(self._bind(cql, params, self._write))
        future.add_errback(lambda _error: None)

    def cas(self, statements: Sequence[Statement]) -> CasOutcome:
        """One conditional write (a lightweight transaction): a statement or a
        conditional batch whose statements all name one partition."""
        started = time.perf_counter()
        with translated(write=True):
            result = self._session.execute(self._group(statements))
            row = dict(result.one())
        self._observe("cas", statements, started)
        applied = bool(row.pop("[applied]"))
        return CasOutcome(applied, row)

    def schema(self, cql: str) -> None:
        """A schema change; waits for the cluster to agree on it."""
        with translated(write=True):
            self._session.execute(cql, timeout=_SCHEMA_TIMEOUT)

    def close(self) -> None:
        self._cluster.shutdown()

    def observe(self, observer: Observer | None) -> None:
        """Be told how long each conditional write (`cas`) and each `write_all` took."""
        self.observer = observer

    def _observe(self, kind: str, statements: Sequence[Statement], started: float) -> None:
        if self.observer is not None:
            self.observer(kind, statements, time.perf_counter() - started)

    # -- internals -----------------------------------------------------------

    def _prepare(self, cql: str) -> Any:
        with self._lock:
            prepared = self._prepared.get(cql)
        if prepared is None:
            with translated(write=False):
                prepared = self._session.prepare(cql)
            with self._lock:
                self._prepared[cql] = prepared
        return prepared

    def _bind(self, cql: str, params: Params, consistency: Any) -> Any:
        bound = self._prepare(cql).bind(params)
        bound.consistency_level = consistency
        bound.serial_consistency_level = self._serial
        return bound

    def _group(self, statements: Sequence[Statement]) -> Any:
        if len(statements) == 1:
            cql, params = statements[0]
            return self._bind(cql, params, self._write)
        batch = BatchStatement(
            batch_type=BatchType.UNLOGGED,
            consistency_level=self._write,
            serial_consistency_level=self._serial,
        )
        for cql, params in statements:
            batch.add(self._prepare(cql), params)
        return batch


def _level(name: str) -> Any:
    return getattr(ConsistencyLevel, name)


@contextmanager
def translated(*, write: bool) -> Iterator[None]:
    """Driver errors become the library's persistence errors (see the module docstring)."""
    try:
        yield
    except (DatabaseError, InterfaceError):
        raise
    except (WriteTimeout, WriteFailure) as error:
        raise OutcomeUnknown(f"Cassandra write outcome unknown: {error}") from error
    except OperationTimedOut as error:
        if write:
            raise OutcomeUnknown(f"Cassandra write outcome unknown: {error}") from error
        raise OperationalError(f"Cassandra did not answer in time: {error}") from error
    except (InvalidRequest, RequestValidationException) as error:
        raise ProgrammingError(f"Cassandra refused the statement: {error}") from error
    except NoHostAvailable as error:
        # The driver tries the next host when one says "unavailable", and calls
        # the end of its hosts "no host available": the hosts' answers say why.
        unavailable = _unavailable(error)
        if unavailable is not None:
            raise ConsistencyUnmet(unavailable) from error
        raise OperationalError(f"Cassandra unreachable: {error}") from error
    except Unavailable as error:
        raise ConsistencyUnmet(error) from error
    except RequestExecutionException as error:
        raise OperationalError(f"Cassandra could not serve the request: {error}") from error
    except DriverException as error:
        raise InterfaceError(f"Cassandra driver error: {error}") from error


class SessionPool:
    """One shared `CqlSession` per cluster and consistency settings, counted by users."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[tuple[object, ...], tuple[CqlSession, int]] = {}

    def acquire(self, settings: CassandraSettings) -> CqlSession:
        key = settings.cluster_key
        with self._lock:
            found = self._sessions.get(key)
            if found is None:
                found = (CqlSession(settings), 0)
            self._sessions[key] = (found[0], found[1] + 1)
            return found[0]

    def release(self, session: CqlSession) -> None:
        key = session.settings.cluster_key
        with self._lock:
            found = self._sessions.get(key)
            if found is None or found[0] is not session:
                return
            if found[1] > 1:
                self._sessions[key] = (session, found[1] - 1)
                return
            del self._sessions[key]
        session.close()


SESSIONS = SessionPool()
