"""Benchmark P6: a province following its townships, as the townships grow 10 -> 1,800.

Shandong's shape (`province_shape`): the province node follows every township
directly (no relay through the cities and counties). For each number of
sources the harness runs:

- the townships, simulated in a few processes (`province_sources`): their
  logs are real, hash-chained, made by the ledger before the measurement;
  on the gRPC feed each township serves its log stream on a port of its own,
  on the Kafka feed its log goes to its topic on the broker;
- a real province node in its own process (`caseledger.nodes serve`, SQLite
  store, its views and witness as deployed), in plaintext: the simulated
  townships have no certificates, and TLS is not what this measures.

The province connects (gRPC: every township has a stream waiting for it) and
settles; then every township sends its log at once, and the harness reads
the province's CPU time (`/proc/<pid>/stat`, user + system) before the
release and when its store holds every event. The figure is CPU seconds per
event stored; with it the province's memory (RSS) and thread count
(`/proc/<pid>/status`) once it holds every event and follows every source.
Every row stores the same number of events (`--events-per-source` at the
largest count, times that count), in stream messages of the same size, so
only the number of sources changes; the baseline is the first (smallest)
count of the same feed, measured in the same run, and the target is the
per-event cost at the largest count against it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

import yaml

from caseledger.nodes.bench.profiling import Profiler
from caseledger.nodes.bench.province_shape import PROVINCE, sources
from caseledger.nodes.bench.targets import P6_COST_OVER_BASELINE, Target, verdicts

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")
_INGEST_TIMEOUT = 300.0
_SETTLE_SECONDS = 1.0


class NotStarted(RuntimeError):
    """A row's processes did not start (a port picked for them was taken meanwhile
    by another process of this busy machine): the row is tried again."""


@dataclass(frozen=True)
class Row:
    feed: str
    sources: int
    events: int
    cpu_seconds: float
    wall_seconds: float
    rss_mb: float
    threads: int

    @property
    def cpu_us_per_event(self) -> float:
        return self.cpu_seconds / self.events * 1e6 if self.events else 0.0


# -- the province process, read from /proc -------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


def rss_and_threads(pid: int) -> tuple[float, int]:
    """Resident memory (MB) and OS threads of process `pid`."""
    status = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(status["VmRSS"].split()[0]) / 1024, int(status["Threads"])


def _tail(log: IO[str]) -> str:
    """The last lines a process wrote to `log`."""
    log.flush()
    return "\n".join(Path(log.name).read_text(encoding="utf-8").strip().splitlines()[-20:])


def _free_ports(count: int) -> list[int]:
    """`count` distinct ports free now (all held open at once, then let go)."""
    with contextlib.ExitStack() as held:
        probes = [held.enter_context(socket.socket()) for _ in range(count)]
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]


# -- the simulated townships ----------------------------------------------------


class SourceProcesses:
    """The townships, split over a few processes (`province_sources`)."""

    def __init__(
        self,
        codes: Sequence[str],
        job: dict[str, Any],
        processes: int,
        log: IO[str],
    ) -> None:
        shares = [list(codes[index::processes]) for index in range(processes)]
        self._running: list[subprocess.Popen[str]] = []
        self._log = log
        for share in (s for s in shares if s):
            process = subprocess.Popen(
                [sys.executable, "-m", "caseledger.nodes.bench.province_sources"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
            )  # fmt: skip
            self._send(process, json.dumps({**job, "codes": share}))
            self._running.append(process)

    def serving(self) -> dict[str, str]:
        """Once every process serves its townships: their addresses, by code."""
        addresses: dict[str, str] = {}
        for process in self._running:
            addresses.update(self._read(process)["addresses"])
        return addresses

    @staticmethod
    def _send(process: subprocess.Popen[str], line: str) -> None:
        stdin: IO[str] | None = process.stdin
        assert stdin is not None
        stdin.write(line + "\n")
        stdin.flush()

    def _read(self, process: subprocess.Popen[str]) -> Any:
        stdout: IO[str] | None = process.stdout
        assert stdout is not None
        line = stdout.readline()
        if not line:
            raise NotStarted("a township process ended early:\n" + _tail(self._log))
        return json.loads(line) if line.startswith("{") else line.strip()

    def wait_connected(self) -> None:
        for process in self._running:
            if (said := self._read(process)) != "connected":
                raise RuntimeError(f"a township process said {said!r}, not connected")

    def release(self) -> None:
        for process in self._running:
            self._send(process, "release")

    def stop(self) -> None:
        for process in self._running:
            with contextlib.suppress(OSError):
                self._send(process, "stop")
        for process in self._running:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


# -- the province node ---------------------------------------------------------


def _network_file(
    folder: Path, feed: str, ports: dict[str, int], codes: Sequence[str], kafka: Any
) -> Path:
    document: dict[str, Any] = {
        "network": "bench-p6",
        "defaults": {"data_dir": str(folder / "data"), "store": "sqlite", "feed": feed},
        "security": {"insecure": True},
        "nodes": [
            {"code": PROVINCE, "name": "山东省", "address": f"127.0.0.1:{ports[PROVINCE]}"},
            *(
                {
                    "code": code,
                    "name": f"乡镇{code}",
                    # Kafka: never dialled for the feed; the file needs one apiece.
                    "address": f"127.0.0.1:{ports[code]}",
                    "parent": PROVINCE,
                }
                for code in codes
            ),
        ],
    }
    if kafka:
        document["kafka"] = {"bootstrap": kafka["bootstrap"], "topic_prefix": kafka["prefix"]}
    path = folder / "network.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


@contextlib.contextmanager
def _province(network: Path, log: IO[str]) -> Iterator[subprocess.Popen[str]]:
    """The province node's process, started (not yet listening)."""
    node = subprocess.Popen(
        [sys.executable, "-m", "caseledger.nodes", "serve", "--network", str(network),
         "--code", PROVINCE],
        stdout=subprocess.PIPE, stderr=log, text=True,
    )  # fmt: skip
    try:
        yield node
    finally:
        # Measured already: its stores are thrown away with the row.
        node.kill()
        node.wait(timeout=30)


def _listening(node: subprocess.Popen[str], log: IO[str]) -> None:
    assert node.stdout is not None
    if not node.stdout.readline().startswith("LISTENING"):
        raise NotStarted("the province node did not start:\n" + _tail(log))


def _stored(database: Path) -> int:
    """Events in the province's received store (read by another connection)."""
    if not database.exists():
        return 0
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        try:
            (count,) = db.execute("SELECT COUNT(*) FROM stored_events").fetchone()
        except sqlite3.OperationalError:
            return 0
        return int(count)


def _settle(pid: int, longest: float = 30.0) -> None:
    """Wait until the province is idle (it has connected and started up)."""
    deadline = time.monotonic() + longest
    before = cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(_SETTLE_SECONDS)
        now = cpu_seconds(pid)
        if now - before < 0.05 * _SETTLE_SECONDS:
            return
        before = now


# -- one row -------------------------------------------------------------------


def _kafka_topics(bootstrap: str, prefix: str, codes: Sequence[str]) -> None:
    from caseledger.nodes.replication.kafka_client import (
        BrokerSettings,
        TopicAdmin,
        TopicSettings,
    )
    from caseledger.nodes.replication.topics import TopicLayout

    admin = TopicAdmin(BrokerSettings((bootstrap,)))
    admin.open()
    try:
        # One partition per township: the harness's topics, removed after the row;
        # a broker takes at most 1,000 topics per request.
        names = [TopicLayout(prefix).authored(code) for code in codes]
        for start in range(0, len(names), 500):
            admin.ensure(names[start : start + 500], TopicSettings(1))
    finally:
        admin.close()


def _remove_topics(bootstrap: str, prefix: str) -> None:
    """The row's topics, so that runs leave the shared broker as they found it."""
    import kafka  # only the harness's clean-up: the feeds go through kafka_client

    admin = kafka.KafkaAdminClient(bootstrap_servers=[bootstrap])
    try:
        mine = [t for t in admin.list_topics() if t.startswith(prefix + ".")]
        for start in range(0, len(mine), 500):
            admin.delete_topics(mine[start : start + 500], timeout_ms=60_000)
    finally:
        admin.close()


def measure(
    feed: str,
    count: int,
    total: int,
    *,
    batch: int,
    processes: int,
    kafka: str | None,
    profile: Path | None = None,
) -> Row:
    """One row; started again (at most twice) if its processes do not start."""
    for _ in range(2):
        try:
            return _measure(
                feed, count, total, batch=batch, processes=processes, kafka=kafka, profile=profile
            )
        except NotStarted as error:
            print(f"  ({feed}, {count} sources: {error}; starting the row again)", file=sys.stderr)
    return _measure(
        feed, count, total, batch=batch, processes=processes, kafka=kafka, profile=profile
    )


def _measure(
    feed: str,
    count: int,
    total: int,
    *,
    batch: int,
    processes: int,
    kafka: str | None,
    profile: Path | None = None,
) -> Row:
    codes = sources(count)
    per_source = max(1, total // count)
    topics = None
    if feed == "kafka":
        assert kafka, "the Kafka feed needs a broker (--kafka)"
        topics = {"bootstrap": kafka, "prefix": f"p6-{os.getpid()}-{time.time_ns()}-{count}"}
        _kafka_topics(kafka, topics["prefix"], codes)
    try:
        with tempfile.TemporaryDirectory(prefix="caseledger-p6-") as scratch:
            folder = Path(scratch)
            ports = dict(zip([PROVINCE, *codes], _free_ports(count + 1), strict=True))
            network = _network_file(folder, feed, ports, codes, topics)
            job = {"events": per_source, "batch": batch, "kafka": topics, "ports": ports}
            with (
                (folder / "townships.log").open("w") as townships_log,
                (folder / "province.log").open("w") as log,
            ):
                # The townships and the province start side by side: the
                # province retries a township that does not answer yet.
                townships = SourceProcesses(codes, job, processes, townships_log)
                try:
                    with _province(network, log) as node:
                        townships.serving()
                        _listening(node, log)
                        townships.wait_connected()
                        _settle(node.pid)
                        return _ingest(
                            pid=node.pid, townships=townships, feed=feed, count=count,
                            events=per_source * count, profile=profile,
                            database=folder / "data" / f"{PROVINCE}.received.sqlite",
                        )  # fmt: skip
                finally:
                    townships.stop()
    finally:
        if topics is not None:
            _remove_topics(kafka or "", topics["prefix"])


def _ingest(
    *,
    pid: int,
    townships: SourceProcesses,
    feed: str,
    count: int,
    events: int,
    database: Path,
    profile: Path | None,
) -> Row:
    profiler = Profiler(pid, profile) if profile is not None else None
    if profiler is not None:
        profiler.begin(f"p6-{feed}-{count}")
    began, cpu_before = time.perf_counter(), cpu_seconds(pid)
    townships.release()
    deadline = time.monotonic() + _INGEST_TIMEOUT
    while (stored := _stored(database)) < events:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the province stored {stored} of {events} events in time")
        time.sleep(0.05)
    cpu, wall = cpu_seconds(pid) - cpu_before, time.perf_counter() - began
    if profiler is not None:
        profiler.end()
    rss, threads = rss_and_threads(pid)
    return Row(feed, count, stored, cpu, wall, rss, threads)


# -- the report ----------------------------------------------------------------


def table(rows: Sequence[Row]) -> list[str]:
    lines = [
        f"  {'feed':<6}{'sources':>8}{'events':>8}{'CPU s':>8}{'µs/event':>10}"
        f"{'× base':>8}{'RSS MB':>8}{'threads':>8}{'events/s':>10}"
    ]
    for row in rows:
        base = baseline(rows, row.feed)
        ratio = row.cpu_us_per_event / base.cpu_us_per_event if base.cpu_us_per_event else 0
        lines.append(
            f"  {row.feed:<6}{row.sources:>8}{row.events:>8}{row.cpu_seconds:>8.2f}"
            f"{row.cpu_us_per_event:>10.0f}{ratio:>8.2f}{row.rss_mb:>8.0f}{row.threads:>8}"
            f"{row.events / row.wall_seconds if row.wall_seconds else 0:>10.0f}"
        )
    return lines


def baseline(rows: Sequence[Row], feed: str) -> Row:
    return min((r for r in rows if r.feed == feed), key=lambda r: r.sources)


def measured_targets(rows: Sequence[Row]) -> list[tuple[Target, float]]:
    """Per feed: the per-event cost at its largest count over its smallest."""
    measured = []
    for feed in dict.fromkeys(r.feed for r in rows):
        base = baseline(rows, feed)
        top = max((r for r in rows if r.feed == feed), key=lambda r: r.sources)
        if top is not base and base.cpu_us_per_event:
            target = Target(
                f"{P6_COST_OVER_BASELINE.measure} ({feed}, {top.sources} / {base.sources} sources)",
                P6_COST_OVER_BASELINE.bound,
                P6_COST_OVER_BASELINE.at_least,
            )
            measured.append((target, top.cpu_us_per_event / base.cpu_us_per_event))
    return measured


def memory_per_source(rows: Sequence[Row], feed: str) -> float | None:
    """MB of the province's RSS per source followed, between the smallest and largest counts."""
    base = baseline(rows, feed)
    top = max((r for r in rows if r.feed == feed), key=lambda r: r.sources)
    if top.sources == base.sources:
        return None
    return (top.rss_mb - base.rss_mb) / (top.sources - base.sources)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m caseledger.nodes.bench.province")
    parser.add_argument("--sources", default="10,100,1800", help="counts of townships")
    parser.add_argument("--feed", choices=("grpc", "kafka", "both"), default="both")
    parser.add_argument(
        "--events-per-source",
        type=int,
        default=2,
        help="at the largest count; every count stores the same total (default: %(default)s)",
    )
    parser.add_argument(
        "--batch",
        type=int,
        help="records per stream message at every count (default: --events-per-source, so "
        "a township of the largest count sends its log in one message, as a township "
        "does what one commit appended)",
    )
    parser.add_argument("--processes", type=int, default=3, help="processes of townships")
    parser.add_argument(
        "--kafka", default=os.environ.get("CASELEDGER_KAFKA"), help="broker [$CASELEDGER_KAFKA]"
    )
    parser.add_argument("--profile", type=Path, help="py-spy flame graphs of the largest count")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    counts = sorted(int(c) for c in args.sources.split(","))
    feeds = ("grpc", "kafka") if args.feed == "both" else (args.feed,)
    total = args.events_per_source * counts[-1]
    batch = args.batch or args.events_per_source
    rows = []
    print(
        f"P6 province: {', '.join(map(str, counts))} townships, {total} events per count "
        f"in messages of {batch}, plaintext, {args.processes} township processes"
    )
    for feed in feeds:
        for count in counts:
            profile = args.profile if count == counts[-1] else None
            row = measure(
                feed, count, total, batch=batch, processes=args.processes,
                kafka=args.kafka, profile=profile,
            )  # fmt: skip
            rows.append(row)
            print(table(rows)[-1], flush=True)
    print("\n".join(table(rows)))
    for feed in feeds:
        per_source = memory_per_source(rows, feed)
        if per_source is not None:
            print(f"  {feed}: memory per source followed {per_source * 1024:.0f} KB")
    targets = measured_targets(rows)
    for line in verdicts(targets):
        print(f"  {line}")
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "benchmark": "P6 province shape",
                    "rows": [{**asdict(r), "cpu_us_per_event": r.cpu_us_per_event} for r in rows],
                    "targets": [t.document(v) for t, v in targets],
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
