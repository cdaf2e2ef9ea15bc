"""Benchmark P1: durable one-event appends over gRPC, beside two baselines.

All three figures come from the same run on the same machine:
  (a) echo:   `Ping` calls to the same node process (same server stack, no store);
  (b) save:   `eventsourcing` `Application.save` of one event, in process, on
              SQLite with the same durability (WAL, synchronous=FULL);
  append:     `RecordStep` calls, one event each, on the node's SQLite store,
              acknowledged only after the commit is on disk.
The node runs in its own process so client and server do not share a GIL.
Then the append load is replayed at half the measured peak rate to report
the latency a node sees when it is not saturated.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import grpc
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate

from caseledger.nodes.bench import data as bench_data
from caseledger.nodes.bench.profiling import Profiler
from caseledger.nodes.bench.secured import prepare
from caseledger.nodes.bench.targets import (
    P1_APPEND_OVER_ECHO,
    P1_APPEND_OVER_LIBRARY,
    P1_P99_MS_AT_HALF_PEAK,
    Target,
    verdicts,
)
from caseledger.v1 import ledger_pb2, ledger_pb2_grpc, types_pb2

_BENCH_NODE = "370102001000"


@dataclass(frozen=True)
class Figure:
    name: str
    per_second: float
    p50_ms: float
    p99_ms: float
    count: int


def percentile(samples: list[float], fraction: float) -> float:
    if not samples:
        return 0.0
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000


def _figure(name: str, latencies: list[float], seconds: float) -> Figure:
    return Figure(
        name,
        len(latencies) / seconds,
        percentile(latencies, 0.5),
        percentile(latencies, 0.99),
        len(latencies),
    )


# -- (b) in-process eventsourcing save -------------------------------------------


class _Counter(Aggregate):
    def __init__(self) -> None:
        self.count = 0

    @dataclass(frozen=True)
    class Counted(Aggregate.Event):
        def apply(self, aggregate: Any) -> None:
            aggregate.count += 1


def library_save(folder: Path, seconds: float) -> Figure:
    app = Application[Any](
        env={
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(folder / "es.sqlite"),
        }
    )
    counter = _Counter()
    app.save(counter)
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    while (now := time.perf_counter()) < deadline:
        counter.trigger_event(_Counter.Counted)
        app.save(counter)
        latencies.append(time.perf_counter() - now)
    app.close()
    return _figure("eventsourcing save, in process (b)", latencies, seconds)


# -- gRPC loads ------------------------------------------------------------------


def _meta(request_id: str) -> types_pb2.CommandMeta:
    return types_pb2.CommandMeta(
        request_id=request_id, operator=types_pb2.Operator(id="bench", role="approver")
    )


async def _prepare_cases(stub: Any, clients: int) -> list[str]:
    await stub.PublishItem(bench_data.publication("bench-publish"))
    numbers = []
    for index in range(clients):
        result = (await stub.Submit(bench_data.submission(f"bench-submit-{index}"))).result
        await stub.Accept(
            ledger_pb2.AcceptRequest(
                meta=_meta(f"bench-accept-{index}"), case=result.case_number, notice_no="受1号"
            )
        )
        numbers.append(result.case_number)
    return numbers


async def _closed_loop(call: Any, clients: int, seconds: float) -> list[float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def client(index: int) -> None:
        serial = 0
        while (started := time.perf_counter()) < deadline:
            serial += 1
            await call(index, serial)
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(client(i) for i in range(clients)))
    return latencies


async def _paced(call: Any, rate: float, seconds: float) -> list[float]:
    latencies: list[float] = []
    interval = 1.0 / rate
    start = time.perf_counter()
    tasks = []

    async def one(serial: int) -> None:
        began = time.perf_counter()
        await call(serial % 1000, 10_000_000 + serial)
        latencies.append(time.perf_counter() - began)

    serial = 0
    while (elapsed := time.perf_counter() - start) < seconds:
        target = serial * interval
        if target > elapsed:
            await asyncio.sleep(target - elapsed)
        tasks.append(asyncio.ensure_future(one(serial)))
        serial += 1
    await asyncio.gather(*tasks)
    return latencies


async def grpc_loads(
    address: str,
    clients: int,
    seconds: float,
    credentials: grpc.ChannelCredentials | None = None,
    profiler: Profiler | None = None,
) -> list[Figure]:
    channel = (
        grpc.aio.insecure_channel(address)
        if credentials is None
        else grpc.aio.secure_channel(address, credentials)
    )
    async with channel:
        stub = ledger_pb2_grpc.LedgerServiceStub(channel)
        numbers = await _prepare_cases(stub, clients)
        payload = b"x" * 64

        async def echo(index: int, serial: int) -> None:
            await stub.Ping(ledger_pb2.PingRequest(payload=payload))

        async def append(index: int, serial: int) -> None:
            await stub.RecordStep(
                ledger_pb2.RecordStepRequest(
                    meta=_meta(f"step-{index}-{serial}"),
                    case=numbers[index % len(numbers)],
                    step="审查",
                    handler="bench",
                    opinion="同意",
                    action=types_pb2.STEP_ACTION_PASS,
                )
            )

        echo_figure = _figure(
            "gRPC echo, same server (a)", await _closed_loop(echo, clients, seconds), seconds
        )
        if profiler is not None:
            profiler.begin("append")
        append_figure = _figure(
            "durable append, 1 event/call", await _closed_loop(append, clients, seconds), seconds
        )
        if profiler is not None:
            profiler.end()
        half = max(1.0, append_figure.per_second / 2)
        paced = _figure(
            f"durable append at half peak ({half:.0f}/s)",
            await _paced(append, half, seconds),
            seconds,
        )
        return [echo_figure, append_figure, paced]


# -- orchestration ---------------------------------------------------------------


def start_node(folder: Path, security: list[str]) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "caseledger.nodes",
            "serve",
            "--code",
            _BENCH_NODE,
            "--listen",
            "127.0.0.1:0",
            "--data",
            str(folder),
            "--log-format",
            "json",
            *security,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("LISTENING "):
        process.kill()
        raise RuntimeError(f"bench node did not start: {line!r}")
    return process, line.split()[1]


def run(
    clients: int, seconds: float, insecure: bool = False, profile: Path | None = None
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="caseledger-bench-") as scratch:
        folder = Path(scratch)
        library = library_save(folder, seconds)
        security = prepare(folder, _BENCH_NODE, folder / "node", insecure=insecure)
        process, address = start_node(folder / "node", security.serve_args)
        profiler = None if profile is None else Profiler(process.pid, profile)
        try:
            echo, append, paced = asyncio.run(
                grpc_loads(address, clients, seconds, security.credentials, profiler)
            )
        finally:
            process.terminate()
            process.wait(timeout=30)
    report: dict[str, Any] = {
        "benchmark": "P1 durable append"
        + (
            " (plaintext, no token checks)" if insecure else " (mutual TLS, token checked per call)"
        ),
        "clients": clients,
        "seconds": seconds,
        "cpus": os.cpu_count(),
        "figures": [asdict(f) for f in (echo, library, append, paced)],
        "ratios": {
            "append / echo (target >= 0.6)": append.per_second / echo.per_second,
            "append / eventsourcing save (target >= 1.0)": append.per_second / library.per_second,
        },
        "p99_ms_at_half_peak (target <= 3)": paced.p99_ms,
    }
    report["targets"] = [target.document(value) for target, value in measured_targets(report)]
    return report


def measured_targets(report: dict[str, Any]) -> list[tuple[Target, float]]:
    """Each P1 target beside this run's figure for it."""
    ratios = report["ratios"]
    return [
        (P1_APPEND_OVER_ECHO, ratios["append / echo (target >= 0.6)"]),
        (P1_APPEND_OVER_LIBRARY, ratios["append / eventsourcing save (target >= 1.0)"]),
        (P1_P99_MS_AT_HALF_PEAK, report["p99_ms_at_half_peak (target <= 3)"]),
    ]


def render(report: dict[str, Any]) -> str:
    lines = [
        f"{report['benchmark']}: {report['clients']} concurrent clients, "
        f"{report['seconds']:.0f} s per figure, {report['cpus']} CPUs",
        f"{'figure':<44} {'per s':>10} {'p50 ms':>8} {'p99 ms':>8} {'count':>8}",
    ]
    for f in report["figures"]:
        figures = f"{f['per_second']:>10.0f} {f['p50_ms']:>8.2f} {f['p99_ms']:>8.2f}"
        lines.append(f"{f['name']:<44} {figures} {f['count']:>8}")
    for name, value in report["ratios"].items():
        lines.append(f"{name:<44} {value:>10.2f}")
    half_peak = report["p99_ms_at_half_peak (target <= 3)"]
    lines.append(f"{'p99 ms at half peak (target <= 3)':<44} {half_peak:>10.2f}")
    lines.extend(verdicts(measured_targets(report)))
    return "\n".join(lines)


def main(
    clients: int,
    seconds: float,
    json_path: Path | None,
    insecure: bool = False,
    profile: Path | None = None,
) -> int:
    report = run(clients, seconds, insecure, profile)
    print(render(report))
    if json_path is not None:
        json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m caseledger.nodes.bench.append",
        description="Benchmark P1 (as `caseledger bench`), optionally with flame graphs.",
    )
    parser.add_argument("--clients", type=int, default=16, help="concurrent writers")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each run")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the report here")
    parser.add_argument("--insecure", action="store_true", help="plaintext, no token checks")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="FOLDER",
        help="record the node with py-spy during the append load: FOLDER/append.svg and "
        "append.txt (collapsed stacks); the figures of a profiled run are not the node's own",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    _args = _arguments(None)
    sys.exit(main(_args.clients, _args.seconds, _args.json, _args.insecure, _args.profile))
