"""Benchmark P2: batched intake (`IntakeService.ImportCases`), beside a raw
batched insert of the same rows.

Both figures come from the same run on the same machine:
  import:   `--records` case submissions sent in calls of `--batch` records,
            `--calls` calls in flight, to a node in its own process (secure as
            deployed: mutual TLS and a token checked per call; `--insecure`
            to compare); each call answered once its records are on disk;
  baseline: the rows the import stored (the node's own stored events, read
            back after it stopped), inserted from Python into a fresh SQLite
            table of the same schema with the same durability (WAL,
            synchronous=FULL), one transaction of the same number of rows
            per batch.
The figure is events per second (a submission stores two: the case's
submission and the claim of its case number).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc

from caseledger.nodes.bench import data as bench_data
from caseledger.nodes.bench.append import start_node
from caseledger.nodes.bench.profiling import Profiler
from caseledger.nodes.bench.secured import prepare
from caseledger.nodes.bench.targets import (
    P2_EVENTS_PER_SECOND,
    P2_OVER_RAW_INSERT,
    Target,
    verdicts,
)
from caseledger.v1 import intake_pb2, intake_pb2_grpc, ledger_pb2_grpc

_BENCH_NODE = "370102001000"
_SCHEMA = (
    "CREATE TABLE stored_events (originator_id TEXT, originator_version INTEGER, "
    "topic TEXT, state BLOB, PRIMARY KEY (originator_id, originator_version))"
)


def _records(count: int) -> list[intake_pb2.ImportRecord]:
    template = bench_data.submission("")
    return [
        intake_pb2.ImportRecord(record_id=f"bench-{index:07d}", submission=template)
        for index in range(count)
    ]


def _channel(address: str, credentials: grpc.ChannelCredentials | None) -> grpc.Channel:
    if credentials is None:
        return grpc.insecure_channel(address)
    return grpc.secure_channel(address, credentials)


def import_load(
    address: str,
    credentials: grpc.ChannelCredentials | None,
    records: int,
    batch: int,
    *,
    calls: int,
    profiler: Profiler | None = None,
) -> dict[str, Any]:
    """Import `records` submissions; events per second and per-call latency."""
    everything = _records(records)
    batches = [everything[i : i + batch] for i in range(0, records, batch)]
    latencies: list[float] = []
    events = 0
    lock = threading.Lock()
    with _channel(address, credentials) as channel:
        ledger_pb2_grpc.LedgerServiceStub(channel).PublishItem(
            bench_data.publication("bench-publish")
        )
        stub = intake_pb2_grpc.IntakeServiceStub(channel)

        def send(records: list[intake_pb2.ImportRecord]) -> None:
            nonlocal events
            began = time.perf_counter()
            response = stub.ImportCases(intake_pb2.ImportCasesRequest(records=records))
            with lock:
                latencies.append(time.perf_counter() - began)
                events += sum(r.events for r in response.records)

        # One call first, so the item and the node's caches are warm.
        send(batches[0])
        events = 0
        latencies.clear()
        rest = batches[1:]
        if profiler is not None:
            profiler.begin("import")
        started = time.perf_counter()
        with ThreadPoolExecutor(calls) as pool:
            list(pool.map(send, rest))
        seconds = time.perf_counter() - started
        if profiler is not None:
            profiler.end()
    ordered = sorted(latencies)
    return {
        "name": f"ImportCases, {batch} records/call, {calls} calls in flight",
        "events": events,
        "seconds": seconds,
        "events_per_second": events / seconds,
        "call_p50_ms": ordered[len(ordered) // 2] * 1000,
        "call_p99_ms": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000,
    }


def stored_rows(database: Path, after: int) -> list[tuple[Any, ...]]:
    """The stored events the node wrote after its first `after` events."""
    with sqlite3.connect(database) as connection:
        return connection.execute(
            "SELECT originator_id, originator_version, topic, state FROM stored_events "
            "WHERE rowid > ? ORDER BY rowid",
            (after,),
        ).fetchall()


def raw_insert(folder: Path, rows: list[tuple[Any, ...]], per_transaction: int) -> dict[str, Any]:
    """The same rows into a fresh table, batched, each batch durable before the next."""
    connection = sqlite3.connect(folder / "raw.sqlite", isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute(_SCHEMA)
    started = time.perf_counter()
    for index in range(0, len(rows), per_transaction):
        connection.execute("BEGIN")
        connection.executemany(
            "INSERT INTO stored_events VALUES (?, ?, ?, ?)", rows[index : index + per_transaction]
        )
        connection.execute("COMMIT")
    seconds = time.perf_counter() - started
    connection.close()
    return {
        "name": f"raw SQLite batched insert, {per_transaction} rows/transaction",
        "events": len(rows),
        "seconds": seconds,
        "events_per_second": len(rows) / seconds,
    }


def run(
    records: int,
    batch: int,
    calls: int,
    insecure: bool = False,
    profile: Path | None = None,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="caseledger-bench-intake-") as scratch:
        folder = Path(scratch)
        security = prepare(folder, _BENCH_NODE, folder / "node", insecure=insecure)
        process, address = start_node(folder / "node", security.serve_args)
        profiler = None if profile is None else Profiler(process.pid, profile)
        try:
            imported = import_load(
                address,
                security.credentials,
                records + batch,
                batch,
                calls=calls,
                profiler=profiler,
            )
        finally:
            process.terminate()
            process.wait(timeout=60)
        rows = stored_rows(folder / "node" / f"{_BENCH_NODE}.events.sqlite", 0)
        # The rows of the measured calls: after the catalogue item and the warm-up call.
        measured = rows[len(rows) - imported["events"] :]
        baseline = raw_insert(folder, measured, 2 * batch)
    report: dict[str, Any] = {
        "benchmark": "P2 batched intake "
        + ("(plaintext, no token checks)" if insecure else "(mutual TLS, token checked per call)"),
        "records": records,
        "cpus": os.cpu_count(),
        "figures": [imported, baseline],
        "ratio": imported["events_per_second"] / baseline["events_per_second"],
    }
    report["targets"] = [target.document(value) for target, value in measured_targets(report)]
    return report


def render(report: dict[str, Any]) -> str:
    lines = [
        f"{report['benchmark']}: {report['records']} records, {report['cpus']} CPUs",
        f"{'figure':<58} {'events/s':>10} {'events':>8} {'s':>7}",
    ]
    for f in report["figures"]:
        lines.append(
            f"{f['name']:<58} {f['events_per_second']:>10.0f} {f['events']:>8} {f['seconds']:>7.2f}"
        )
    imported = report["figures"][0]
    lines.append(
        f"{'call latency p50 / p99 ms':<58} {imported['call_p50_ms']:>10.1f} "
        f"{imported['call_p99_ms']:>8.1f}"
    )
    lines.append(f"{'import / raw insert (target >= 0.6)':<58} {report['ratio']:>10.2f}")
    lines.append(
        f"{'import events/s (target >= 30000)':<58} {imported['events_per_second']:>10.0f}"
    )
    lines.extend(verdicts(measured_targets(report)))
    return "\n".join(lines)


def measured_targets(report: dict[str, Any]) -> list[tuple[Target, float]]:
    """Each P2 target beside this run's figure for it."""
    return [
        (P2_OVER_RAW_INSERT, report["ratio"]),
        (P2_EVENTS_PER_SECOND, report["figures"][0]["events_per_second"]),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m caseledger.nodes.bench.intake")
    parser.add_argument("--records", type=int, default=10_000, help="records measured")
    parser.add_argument("--batch", type=int, default=500, help="records per call")
    parser.add_argument("--calls", type=int, default=2, help="calls in flight")
    parser.add_argument("--insecure", action="store_true", help="plaintext, no token checks")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the report here")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="FOLDER",
        help="record the node with py-spy during the import: FOLDER/import.svg and import.txt",
    )
    args = parser.parse_args(argv)
    report = run(args.records, args.batch, args.calls, args.insecure, args.profile)
    print(render(report))
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
