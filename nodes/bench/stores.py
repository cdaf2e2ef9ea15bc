"""Benchmark: the Cassandra store beside SQLite, in one run, and what each LWT costs.

    python -m caseledger.nodes bench-cassandra [--cassandra HOST:PORT] [--seconds S]

`main` takes a path to write the figures to as JSON as well; a Cassandra node
that does not answer is one line on stderr and exit status 1.

Both stores are driven through the same `eventsourcing` application
recorder, one after the other, with the same loads:

- append: `insert_events` of 1, 10 and 100 events per call from one
  thread (10 and 100 are what group commit hands the store under load),
  and of 1 event per call from 8 threads (the store serialises them);
- read: one case's sequence (`select_events`, 10 events), a page of the
  log (`select_notifications`, 100 ids from a random position), the tail
  (`max_notification_id`).

The lightweight transactions are timed where the Cassandra module really
issues them (the session is wrapped, nothing is replayed): the conditional
append batch, the epoch put into a new bucket, and the lease's claim,
renewal and release; the plain writes of the case sequences are timed
beside them for scale, and the cost of starting a writer (claim, fence,
repair) by opening and closing the store.

SQLite runs as the node runs it (file, WAL, an fsync per commit). The
Cassandra node of docker/services.py syncs its commit log every 10 s, so
its figures are for replicated, not fsynced, writes (see docs/cassandra.md).
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

from eventsourcing.persistence import (
    ApplicationRecorder,
    InfrastructureFactory,
    PersistenceError,
    StoredEvent,
)

from caseledger.ledger.cassandra.factory import CassandraApplicationRecorder, CassandraFactory
from caseledger.ledger.cassandra.session import SESSIONS

_STATE = b'{"step":"\\u5ba1\\u67e5","handler":"bench","opinion":"\\u540c\\u610f"}' * 4


@dataclass(frozen=True)
class Row:
    store: str
    figure: str
    per_second: float
    unit: str
    p50_ms: float
    p99_ms: float


def _row(store: str, figure: str, unit: str, latencies: list[float], per_call: int) -> Row:
    ordered = sorted(latencies) or [0.0]
    total = sum(latencies) or 1e-9
    return Row(
        store,
        figure,
        len(latencies) * per_call / total,
        unit,
        statistics.median(ordered) * 1000,
        ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000,
    )


def _events(count: int) -> list[StoredEvent]:
    case = uuid4()
    return [StoredEvent(case, v, "bench", _STATE) for v in range(1, count + 1)]


def _timed(seconds: float, call: Callable[[], None]) -> list[float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    while (started := time.perf_counter()) < deadline:
        call()
        latencies.append(time.perf_counter() - started)
    return latencies


def _threaded(seconds: float, threads: int, call: Callable[[], None]) -> tuple[list[float], float]:
    latencies: list[float] = []
    lock = threading.Lock()
    started = time.perf_counter()

    def worker() -> None:
        mine = _timed(seconds, call)
        with lock:
            latencies.extend(mine)

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return latencies, time.perf_counter() - started


def measure_store(store: str, recorder: ApplicationRecorder, seconds: float) -> list[Row]:
    rows = []
    cases = []
    for size in (1, 10, 100):

        def append(size: int = size) -> None:
            batch = _events(size)
            recorder.insert_events(batch)
            cases.append(batch[0].originator_id)

        latencies = _timed(seconds, append)
        rows.append(_row(store, f"append {size} event(s)/call", "events", latencies, size))
    latencies, elapsed = _threaded(seconds, 8, lambda: _ignore(recorder.insert_events(_events(1))))
    row = _row(store, "append 1 event/call, 8 threads", "events", latencies, 1)
    rows.append(Row(store, row.figure, len(latencies) / elapsed, "events", row.p50_ms, row.p99_ms))
    ten = [c for c in cases[-2000:] if len(recorder.select_events(c, limit=2)) > 1] or cases
    rows.append(
        _row(
            store,
            "read a case (select_events)",
            "calls",
            _timed(seconds, lambda: _ignore(recorder.select_events(random.choice(ten)))),
            1,
        )
    )
    last = recorder.max_notification_id() or 1
    rows.append(
        _row(
            store,
            "read the log, pages of 100",
            "events",
            _timed(
                seconds,
                lambda: _ignore(
                    recorder.select_notifications(random.randint(1, max(1, last - 100)), 100)
                ),
            ),
            100,
        )
    )
    rows.append(
        _row(
            store,
            "read the tail (max_notification_id)",
            "calls",
            _timed(seconds, lambda: _ignore(recorder.max_notification_id())),
            1,
        )
    )
    return rows


def _ignore(_: object) -> None:
    return None


class StatementClock:
    """Times, by kind, the conditional writes and the plain batched writes of a session."""

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = defaultdict(list)

    def __call__(self, kind: str, statements: Sequence[tuple[str, Any]], seconds: float) -> None:
        if kind == "cas":
            self.samples[_kind(statements)].append(seconds)
        else:
            self.samples["plain: case sequence rows (write_all)"].append(seconds)


def _kind(statements: Sequence[tuple[str, Any]]) -> str:
    first = statements[0][0]
    if "log_writer" in first:
        if "owner = null, owner_info = null" in first:
            return "LWT: lease release"
        return "LWT: lease renewal" if "IF epoch = ?" in first else "LWT: lease claim"
    if len(statements) > 1:
        return "LWT: append batch (fence + rows)"
    return "LWT: epoch into a bucket (fence)"


def measure_lwt(env: dict[str, str], seconds: float) -> list[Row]:
    factory = CassandraFactory({**env, "CASSANDRA_LEASE_SECONDS": "2"})
    session = factory.datastore.session
    clock = StatementClock()
    session.observe(clock)
    starts: list[float] = []
    recorder: ApplicationRecorder | None = None
    try:
        for _ in range(5):
            started = time.perf_counter()
            opened = CassandraFactory({**env, "CASSANDRA_LEASE_SECONDS": "2"})
            opened.application_recorder()
            starts.append(time.perf_counter() - started)
            opened.close()
        recorder = factory.application_recorder()
        _timed(max(seconds, 2.5), lambda: _ignore(recorder.insert_events(_events(1))))
    finally:
        session.observe(None)
        factory.close()
    rows = [_row("cassandra", kind, "calls", s, 1) for kind, s in sorted(clock.samples.items())]
    rows.append(_row("cassandra", "writer start (claim, fence, repair)", "calls", starts, 1))
    return rows


def run(address: str, seconds: float) -> list[Row]:
    keyspace = f"caseledger_bench_{os.getpid()}"
    env = {
        "PERSISTENCE_MODULE": "caseledger.ledger.cassandra",
        "CASSANDRA_CONTACT_POINTS": address,
        "CASSANDRA_KEYSPACE": keyspace,
    }
    cassandra = CassandraFactory(env)
    reached = False
    try:
        # Cassandra first: a node that is not there is found out before
        # SQLite's figures take their seconds.
        recorder = cassandra.application_recorder()
        reached = True
        assert isinstance(recorder, CassandraApplicationRecorder)
        rows = _sqlite_rows(seconds)
        rows += measure_store("cassandra", recorder, seconds)
        rows += measure_lwt({**env, "CASSANDRA_TABLE_PREFIX": "lwt_"}, seconds)
    finally:
        cassandra.close()
        if reached:
            session = SESSIONS.acquire(cassandra.settings)
            try:
                session.schema(f"DROP KEYSPACE IF EXISTS {keyspace}")
            finally:
                SESSIONS.release(session)
    return rows


def _sqlite_rows(seconds: float) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="caseledger-bench-") as scratch:
        sqlite = InfrastructureFactory.construct(
            {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(Path(scratch) / "bench.sqlite"),
                "SQLITE_LOCK_TIMEOUT": "10",
            }
        )
        try:
            return measure_store("sqlite", sqlite.application_recorder(), seconds)
        finally:
            sqlite.close()


def render(rows: list[Row], seconds: float) -> str:
    lines = [
        f"Cassandra beside SQLite: {seconds:.0f} s per figure, {os.cpu_count()} CPUs",
        f"{'store':<10} {'figure':<42} {'per s':>10} {'unit':<7} {'p50 ms':>8} {'p99 ms':>8}",
    ]
    for r in rows:
        lines.append(
            f"{r.store:<10} {r.figure:<42} {r.per_second:>10.0f} {r.unit:<7} "
            f"{r.p50_ms:>8.2f} {r.p99_ms:>8.2f}"
        )
    return "\n".join(lines)


def report(rows: list[Row], address: str, seconds: float) -> dict[str, Any]:
    """The figures for machines: what `--json` writes."""
    return {
        "benchmark": "cassandra beside sqlite",
        "cassandra": address,
        "seconds": seconds,
        "cpus": os.cpu_count(),
        "rows": [dataclasses.asdict(row) for row in rows],
    }


def unreachable(address: str, error: Exception) -> str:
    """What an operator is told when no Cassandra node answers (no traceback)."""
    cause = str(error).splitlines()[0] if str(error) else type(error).__name__
    return (
        f"bench-cassandra: no Cassandra node answers at {address}: {cause}\n"
        "  name one with --cassandra HOST:PORT or CASELEDGER_CASSANDRA; "
        "python docker/services.py start cassandra starts one (docs/services.md)"
    )


def main(address: str, seconds: float, json_path: Path | None = None) -> int:
    try:
        rows = run(address, seconds)
    except PersistenceError as error:
        print(unreachable(address, error), file=sys.stderr)
        return 1
    print(render(rows, seconds))
    if json_path is not None:
        json_path.write_text(json.dumps(report(rows, address, seconds), indent=2))
    return 0
