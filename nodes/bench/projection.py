"""Benchmark P5: rebuilding a node's views beside a bare scan of the same events.

    python -m caseledger.nodes.bench.projection --events 100000 --events 1000000

For each size: the events (case trails of every path, `projection_cases`)
are written to a SQLite log of the subscribing store; then, in the same
run and on the same file,

- the baseline reads the whole log in pages of 500 and decodes every event
  with the node's mapper, writing nothing;
- the rebuild runs the node's `Follower` and `CaseProjection` from position
  0 into an empty views database until it has processed the log's head;
- a province-level statistics call (`Reports.stats`, one row per county)
  over the rebuilt views is timed `--repeats` times: p50 and p99.

Rates are events per second of wall time; the ratio is rebuild / baseline,
in wall time and in CPU time (the steadier on a shared machine).
The table goes to stdout, and with `--json PATH` the figures to that file.
Nothing here is a test: no figure is asserted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from eventsourcing.persistence import ApplicationRecorder, StoredEvent
from eventsourcing.popo import POPOApplicationRecorder

from caseledger.ledger.application import CaseLedger
from caseledger.ledger.codes.division import Level
from caseledger.ledger.personal.keystore import MemorySubjectKeyStore
from caseledger.ledger.personal.sealing import SubjectKeys
from caseledger.ledger.sqlite import subscribing
from caseledger.ledger.timelimits.calendar import WorkingCalendar
from caseledger.nodes.bench.projection_cases import NODE, trails
from caseledger.projections import (
    AUTHORED,
    RECEIVED,
    CaseProjection,
    CaseViews,
    Follower,
    HeldTrails,
    Period,
    Reports,
)

__all__ = ["main", "measure"]

_PAGE = 500
_WRITE_BATCH = 5000
PROVINCE = "370000000000"


def _log(path: Path) -> ApplicationRecorder:
    factory = subscribing.Factory(
        {
            "PERSISTENCE_MODULE": "caseledger.ledger.sqlite.subscribing",
            "SQLITE_DBNAME": str(path),
            "SQLITE_LOCK_TIMEOUT": "10",
        }
    )
    recorder = factory.application_recorder()
    return recorder


def _fill(recorder: ApplicationRecorder, events: int) -> int:
    batch: list[StoredEvent] = []
    for trail in trails(events):
        batch += trail
        if len(batch) >= _WRITE_BATCH:
            recorder.insert_events(batch)
            batch = []
    if batch:
        recorder.insert_events(batch)
    return int(recorder.max_notification_id() or 0)


class _Clock:
    """Wall time and this process's CPU time (every thread) since it was made: on a
    shared machine the CPU time is the steadier of the two."""

    def __init__(self) -> None:
        self._wall = time.perf_counter()
        self._cpu = time.process_time()

    def read(self) -> tuple[float, float]:
        return time.perf_counter() - self._wall, time.process_time() - self._cpu


def _scan_and_decode(
    recorder: ApplicationRecorder, ledger: CaseLedger, head: int
) -> tuple[float, float]:
    clock = _Clock()
    position = 0
    while position < head:
        page = recorder.select_notifications(position + 1, _PAGE)
        for notification in page:
            ledger.mapper.to_domain_event(notification)
        position = page[-1].id
    return clock.read()


def _rebuild(
    recorder: ApplicationRecorder, ledger: CaseLedger, head: int, views_file: Path
) -> tuple[tuple[float, float], CaseViews]:
    views = CaseViews.open(str(views_file))
    received = POPOApplicationRecorder()
    projection = CaseProjection(
        views, HeldTrails([recorder, received], ledger.mapper), ledger.mapper
    )
    follower = Follower(projection, {AUTHORED: recorder, RECEIVED: received})
    clock = _Clock()
    follower.start()
    try:
        while views.position(AUTHORED) < head:
            if follower.error is not None:
                raise follower.error
            time.sleep(0.005)
        seconds = clock.read()
    finally:
        follower.stop()
    return seconds, views


def _statistics(views: CaseViews, repeats: int) -> list[float]:
    reports = Reports(views, PROVINCE, WorkingCalendar())
    period = Period(date(2026, 1, 1), date(2026, 12, 31))
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        reports.stats(period, date(2026, 12, 31), level=Level.COUNTY)
        seconds.append(time.perf_counter() - started)
    return seconds


def _percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def measure(events: int, repeats: int, folder: Path) -> dict[str, Any]:
    """The figures of one size, measured in `folder`."""
    memory = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    ledger = CaseLedger(NODE, SubjectKeys(MemorySubjectKeyStore()), memory)
    recorder = _log(folder / f"log-{events}.sqlite")
    head = _fill(recorder, events)
    scan = _scan_and_decode(recorder, ledger, head)
    rebuild, views = _rebuild(recorder, ledger, head, folder / f"views-{events}.sqlite")
    cases = len(views.all_rows())
    stats = _statistics(views, repeats)
    views.close()
    ledger.close()
    (scan_wall, scan_cpu), (rebuild_wall, rebuild_cpu) = scan, rebuild
    return {
        "events": head,
        "cases": cases,
        "scan_and_decode_seconds": scan_wall,
        "scan_and_decode_cpu_seconds": scan_cpu,
        "scan_and_decode_events_per_second": head / scan_wall,
        "rebuild_seconds": rebuild_wall,
        "rebuild_cpu_seconds": rebuild_cpu,
        "rebuild_events_per_second": head / rebuild_wall,
        "rebuild_over_scan": scan_wall / rebuild_wall,
        "rebuild_over_scan_cpu": scan_cpu / rebuild_cpu,
        "statistics_calls": repeats,
        "statistics_p50_seconds": statistics.median(stats),
        "statistics_p99_seconds": _percentile(stats, 0.99),
    }


def main(sizes: Sequence[int], repeats: int, json_path: Path | None) -> list[dict[str, Any]]:
    results = []
    with tempfile.TemporaryDirectory(prefix="caseledger-bench-p5-") as folder:
        for events in sizes:
            results.append(measure(events, repeats, Path(folder)))
    print(
        f"{'events':>9} {'cases':>8} {'scan+decode/s':>14} {'rebuild/s':>10} "
        f"{'ratio':>6} {'cpu ratio':>9} {'stats p50 s':>12} {'stats p99 s':>12}"
    )
    for r in results:
        print(
            f"{r['events']:>9} {r['cases']:>8} {r['scan_and_decode_events_per_second']:>14,.0f} "
            f"{r['rebuild_events_per_second']:>10,.0f} {r['rebuild_over_scan']:>6.2f} "
            f"{r['rebuild_over_scan_cpu']:>9.2f} "
            f"{r['statistics_p50_seconds']:>12.3f} {r['statistics_p99_seconds']:>12.3f}"
        )
    if json_path is not None:
        json_path.write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m caseledger.nodes.bench.projection")
    parser.add_argument(
        "--events",
        type=int,
        action="append",
        help="events in the log (repeatable, to see rebuild time grow with it); default 100000",
    )
    parser.add_argument("--repeats", type=int, default=5, help="statistics calls timed")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    main(args.events or [100_000], args.repeats, args.json)
