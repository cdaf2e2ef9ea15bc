"""Benchmark P3: replication lag township -> province, and catch-up after an outage.

A township node runs in its own process; the province runs in this process
so that it can note the moment it stored each event. Load is a steady rate of
one-event appends (`RecordStep`) at the township; an event's lag is the time
the province stored it minus the time the township acknowledged it to its
client (both clocks are this machine's). Then the province is stopped, the
township appends a backlog, and the province is started again: the catch-up
rate is the backlog over the time to store it.

Beside it, in the same run and on the same broker, Kafka's own tools:
`EndToEndLatency` (produce -> consume latency of single messages) and
`ProducerPerformance` / `ConsumerPerformance` (throughput), when a broker is
given. They bound what any Kafka-based feed can reach here.

On a cluster, `--replication-factor 3 --min-insync-replicas 2` gives the
node's topics and the tools' topics three replicas of which two must hold
a record before it is acknowledged (`acks=all`), as a network file on a
cluster would.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import grpc
import yaml

from caseledger.ledger.trail.received import Delivery
from caseledger.nodes.bench import data as bench_data
from caseledger.nodes.bench.append import percentile
from caseledger.nodes.bench.profiling import Profiler
from caseledger.nodes.bench.targets import (
    P3_CATCH_UP_PER_SECOND,
    P3_KAFKA_LAG_OVER_OWN,
    P3_LAG_P50_MS,
    P3_LAG_P99_MS,
    Target,
    verdicts,
)
from caseledger.nodes.network.command import operator_transport
from caseledger.nodes.network.file import load_network
from caseledger.nodes.network.wiring import directory_of, sources_of
from caseledger.nodes.replication.kafka_client import BrokerSettings, TopicAdmin, TopicSettings
from caseledger.nodes.service.server import RunningNode, start
from caseledger.nodes.trust.provision import TOKEN, operator_folder, provision
from caseledger.v1 import ledger_pb2, ledger_pb2_grpc, types_pb2

TOWNSHIP, PROVINCE = "370102001000", "370000000000"


@dataclass(frozen=True)
class LagFigures:
    rate: float
    events: int
    p50_ms: float
    p99_ms: float
    max_ms: float


@dataclass(frozen=True)
class CatchUp:
    """`seconds` from the province's restart to the last event stored;
    `streaming_seconds` from its first received event to the last."""

    backlog: int
    seconds: float
    streaming_seconds: float

    @property
    def per_second(self) -> float:
        return self.backlog / self.seconds if self.seconds else 0.0

    @property
    def streaming_per_second(self) -> float:
        return self.backlog / self.streaming_seconds if self.streaming_seconds else 0.0


def _network_file(
    folder: Path,
    ports: tuple[int, int],
    feed: str,
    kafka: str | None,
    replication: tuple[int, int] = (1, 1),
) -> Path:
    document: dict[str, Any] = {
        "network": "bench-p3",
        "defaults": {"data_dir": str(folder / "data"), "store": "sqlite", "feed": feed},
        "nodes": [
            {"code": PROVINCE, "name": "山东省", "address": f"127.0.0.1:{ports[0]}"},
            # Straight to the province: the lag of one hop, no county between.
            {
                "code": TOWNSHIP,
                "name": "解放路街道",
                "address": f"127.0.0.1:{ports[1]}",
                "parent": PROVINCE,
            },
        ],
    }
    if kafka:
        document["kafka"] = {
            "bootstrap": kafka,
            "topic_prefix": f"bench{int(time.time())}",
            "replication_factor": replication[0],
            "min_insync_replicas": replication[1],
        }
    path = folder / "network.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


def _free_ports() -> tuple[int, int]:
    import socket

    with socket.socket() as a, socket.socket() as b:
        a.bind(("127.0.0.1", 0))
        b.bind(("127.0.0.1", 0))
        return a.getsockname()[1], b.getsockname()[1]


class Province:
    """The province node in this process, noting when each event was stored."""

    def __init__(self, network: Path) -> None:
        self._network = load_network(network)
        self.stored_at: dict[tuple[str, int], float] = {}
        self.node: RunningNode | None = None

    def start(self) -> None:
        config = self._network.to_node_config(PROVINCE)
        self.node = start(config, sources_of(self._network, PROVINCE), directory_of(self._network))
        self.node.intake.observer = self._note

    def _note(self, deliveries: Sequence[Delivery], at: float) -> None:
        for delivery in deliveries:
            event = delivery.event
            self.stored_at[(str(event.originator_id), event.originator_version)] = at

    def stop(self) -> None:
        if self.node is not None:
            self.node.stop(grace=0)
            self.node = None


async def _cases(stub: Any, count: int) -> list[str]:
    await stub.PublishItem(bench_data.publication(f"p3-publish-{time.time()}"))
    numbers = []
    for index in range(count):
        result = (await stub.Submit(bench_data.submission(f"p3-{index}-{time.time()}"))).result
        await stub.Accept(
            ledger_pb2.AcceptRequest(
                meta=types_pb2.CommandMeta(
                    request_id=f"p3-accept-{result.case_id}",
                    operator=types_pb2.Operator(id="bench", role="window_clerk"),
                ),
                case=result.case_number,
                notice_no="受1号",
            )
        )
        numbers.append(result.case_number)
    return numbers


def _step(number: str, serial: int) -> ledger_pb2.RecordStepRequest:
    return ledger_pb2.RecordStepRequest(
        meta=types_pb2.CommandMeta(
            request_id=f"p3-step-{number}-{serial}",
            operator=types_pb2.Operator(id="bench", role="reviewer"),
        ),
        case=number,
        step="审查",
        handler="bench",
        opinion="同意",
        action=types_pb2.STEP_ACTION_PASS,
    )


async def _steady(
    stub: Any, numbers: list[str], rate: float, seconds: float
) -> dict[tuple[str, int], float]:
    acked: dict[tuple[str, int], float] = {}
    interval = 1.0 / rate
    started = time.perf_counter()
    tasks = []

    async def one(serial: int) -> None:
        reply = await stub.RecordStep(_step(numbers[serial % len(numbers)], serial))
        acked[(reply.result.case_id, reply.result.version)] = time.time()

    serial = 0
    while (elapsed := time.perf_counter() - started) < seconds:
        due = serial * interval
        if due > elapsed:
            await asyncio.sleep(due - elapsed)
        tasks.append(asyncio.ensure_future(one(serial)))
        serial += 1
    await asyncio.gather(*tasks)
    return acked


async def _backlog(stub: Any, numbers: list[str], count: int, clients: int = 16) -> None:
    queue = iter(range(count))

    async def client() -> None:
        for serial in queue:
            await stub.RecordStep(_step(numbers[serial % len(numbers)], 1_000_000 + serial))

    await asyncio.gather(*(client() for _ in range(clients)))


def _wait_stored(province: Province, keys: Sequence[tuple[str, int]], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while any(k not in province.stored_at for k in keys):
        if time.monotonic() > deadline:
            missing = sum(k not in province.stored_at for k in keys)
            raise RuntimeError(f"{missing} events did not reach the province in {timeout:.0f} s")
        time.sleep(0.01)


def measure(
    rate: float,
    seconds: float,
    backlog: int,
    feed: str,
    kafka: str | None,
    *,
    profile: Path | None = None,
    replication: tuple[int, int] = (1, 1),
) -> dict[str, Any]:
    """With `profile`, flame graphs of the township (its own process) and of the
    province (this process, beside the load's client) during the steady load,
    and of the province during the catch-up, in that folder."""
    with tempfile.TemporaryDirectory(prefix="caseledger-p3-") as scratch:
        folder = Path(scratch)
        network = _network_file(folder, _free_ports(), feed, kafka, replication)
        credentials = _client_credentials(network)
        township = subprocess.Popen(
            [sys.executable, "-m", "caseledger.nodes", "serve", "--network", str(network),
             "--code", TOWNSHIP],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        assert township.stdout is not None
        address = township.stdout.readline().split()[1]
        province = Province(network)
        province.start()
        profilers = (
            None
            if profile is None
            else (Profiler(township.pid, profile / "township"), Profiler(os.getpid(), profile))
        )
        try:
            lag, catch_up = asyncio.run(
                _run(
                    address, province, rate, seconds, backlog,
                    credentials=credentials, profilers=profilers,
                )
            )  # fmt: skip
        finally:
            province.stop()
            township.terminate()
            township.wait(timeout=30)
    return {
        "lag": asdict(lag),
        "catch_up": {
            **asdict(catch_up),
            "per_second": catch_up.per_second,
            "streaming_per_second": catch_up.streaming_per_second,
        },
    }


def _client_credentials(network: Path) -> grpc.ChannelCredentials:
    """The network's PKI and tokens, made as `network up` makes them: the bench
    writes to the township as the network's operator (its client certificate
    and machine token), and the nodes replicate over mutual TLS, as deployed."""
    pki = load_network(network).pki
    provision(load_network(network))
    token = (operator_folder(pki) / TOKEN).read_text(encoding="ascii").strip()
    return operator_transport(pki).channel_credentials(token)


async def _run(
    address: str,
    province: Province,
    rate: float,
    seconds: float,
    backlog: int,
    *,
    credentials: grpc.ChannelCredentials,
    profilers: tuple[Profiler, Profiler] | None = None,
) -> tuple[LagFigures, CatchUp]:
    async with grpc.aio.secure_channel(address, credentials) as channel:
        stub = ledger_pb2_grpc.LedgerServiceStub(channel)
        numbers = await _cases(stub, 50)
        for profiler in profilers or ():
            profiler.begin("steady")
        acked = await _steady(stub, numbers, rate, seconds)
        await asyncio.to_thread(_wait_stored, province, list(acked), 60)
        for profiler in profilers or ():
            profiler.end()
        lags = [province.stored_at[key] - at for key, at in acked.items()]
        figures = LagFigures(
            rate, len(lags), percentile(lags, 0.5), percentile(lags, 0.99), max(lags) * 1000
        )
        province.stop()
        await _backlog(stub, numbers, backlog)
        before = set(province.stored_at)
        began = time.time()
        if profilers is not None:
            profilers[1].begin("catch-up")
        province.start()
        await asyncio.to_thread(_wait_count, province, len(before) + backlog, 120)
        if profilers is not None:
            profilers[1].end()
        times = [at for key, at in province.stored_at.items() if key not in before]
        # Stored in batches: the first batch's time stands for its whole batch.
        return figures, CatchUp(backlog, max(times) - began, max(times) - min(times))


def _wait_count(province: Province, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(province.stored_at) < count:
        if time.monotonic() > deadline:
            raise RuntimeError("the province did not catch up in time")
        time.sleep(0.01)


# -- Kafka's own figures ---------------------------------------------------------


def _kafka_tool(classpath: str, tool: str, *args: str) -> str:
    result = subprocess.run(
        ["java", "-Xmx256m", "-cp", classpath, f"org.apache.kafka.tools.{tool}", *args],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    return result.stdout + result.stderr


def kafka_baseline(
    bootstrap: str,
    classpath: str,
    messages: int,
    replication: tuple[int, int] = (1, 1),
    records: int = 100_000,
) -> dict[str, Any]:
    topic = f"bench-e2e-{int(time.time())}"
    # Made here, replicated as the node's topics are, rather than by the broker's defaults.
    admin = TopicAdmin(BrokerSettings(tuple(bootstrap.split(","))))
    admin.open()
    try:
        admin.ensure(
            [topic, topic + "-tp"],
            TopicSettings(
                partitions=1, replication_factor=replication[0], min_insync_replicas=replication[1]
            ),
        )
    finally:
        admin.close()
    e2e = _kafka_tool(classpath, "EndToEndLatency", bootstrap, topic, str(messages), "all", "200")
    figures: dict[str, Any] = {}
    if found := re.search(r"Avg latency: ([\d.]+) ms", e2e):
        figures["e2e_avg_ms"] = float(found.group(1))
    if found := re.search(r"Percentiles: 50th = ([\d.]+), 99th = ([\d.]+)", e2e):
        figures["e2e_p50_ms"], figures["e2e_p99_ms"] = float(found.group(1)), float(found.group(2))
    produced = _kafka_tool(
        classpath, "ProducerPerformance", "--topic", topic + "-tp", "--num-records", str(records),
        "--record-size", "400", "--throughput", "-1",
        "--producer-props", f"bootstrap.servers={bootstrap}", "acks=all",
    )  # fmt: skip
    if rates := re.findall(r"([\d.]+) records/sec", produced):
        figures["producer_records_per_s"] = float(rates[-1])
    consumed = _kafka_tool(
        classpath, "ConsumerPerformance", "--bootstrap-server", bootstrap,
        "--topic", topic + "-tp", "--messages", str(records),
    )  # fmt: skip
    rows = [line for line in consumed.splitlines() if line and line[0].isdigit()]
    if rows:
        figures["consumer_records_per_s"] = float(rows[-1].split(",")[5])
    return figures


def main(
    *,
    rate: float,
    seconds: float,
    backlog: int,
    feed: str,
    kafka: str | None,
    classpath: str | None,
    json_path: Path | None,
    profile: Path | None = None,
    replication: tuple[int, int] = (1, 1),
    kafka_records: int = 100_000,
) -> int:
    report: dict[str, Any] = {
        "benchmark": "P3 replication township -> province (mutual TLS)",
        "feed": feed,
        **measure(rate, seconds, backlog, feed, kafka, profile=profile, replication=replication),
    }
    if feed == "kafka":
        report["replication_factor"], report["min_insync_replicas"] = replication
    if kafka and classpath:
        report["kafka_own"] = kafka_baseline(kafka, classpath, 2000, replication, kafka_records)
    lag, catch = report["lag"], report["catch_up"]
    copies = f", topics RF {replication[0]}, min.insync {replication[1]}" if kafka else ""
    print(f"{report['benchmark']} ({feed} feed{copies})")
    print(
        f"  steady {lag['rate']:.0f} events/s for {lag['events']} events: lag p50 "
        f"{lag['p50_ms']:.1f} ms, p99 {lag['p99_ms']:.1f} ms, max {lag['max_ms']:.1f} ms "
        f"(targets p50 <= 10, p99 <= 50)"
    )
    print(
        f"  catch-up of {catch['backlog']} events after an outage: {catch['seconds']:.2f} s from "
        f"the restart, {catch['per_second']:.0f} events/s; "
        f"{catch['streaming_per_second']:.0f} events/s from the first stored (target >= 30000)"
    )
    own = report.get("kafka_own")
    if own:
        print(
            f"  Kafka's own, same broker: end-to-end p50 {own.get('e2e_p50_ms')} ms, "
            f"p99 {own.get('e2e_p99_ms')} ms; producer {own.get('producer_records_per_s')} rec/s, "
            f"consumer {own.get('consumer_records_per_s')} rec/s"
        )
        if own.get("consumer_records_per_s"):
            print(
                f"  catch-up / Kafka consumer throughput: "
                f"{catch['per_second'] / own['consumer_records_per_s']:.2f}"
            )
    targets = measured_targets(report)
    for line in verdicts(targets):
        print(f"  {line}")
    report["targets"] = [target.document(value) for target, value in targets]
    if json_path is not None:
        json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


def measured_targets(report: dict[str, Any]) -> list[tuple[Target, float]]:
    """Each P3 target beside this run's figure for it: the Kafka feed's lag is held to
    Kafka's own on the same broker (when measured) rather than to the gRPC feed's
    milliseconds."""
    lag, catch = report["lag"], report["catch_up"]
    measured: list[tuple[Target, float]] = []
    if report["feed"] == "grpc":
        measured += [(P3_LAG_P50_MS, lag["p50_ms"]), (P3_LAG_P99_MS, lag["p99_ms"])]
    own_p99 = (report.get("kafka_own") or {}).get("e2e_p99_ms")
    if report["feed"] == "kafka" and own_p99:
        measured.append((P3_KAFKA_LAG_OVER_OWN, lag["p99_ms"] / float(own_p99)))
    measured.append((P3_CATCH_UP_PER_SECOND, catch["streaming_per_second"]))
    return measured


def _cli(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m caseledger.nodes.bench.replication")
    parser.add_argument("--rate", type=float, default=1000.0, help="steady appends per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--backlog", type=int, default=10_000, help="events appended while down")
    parser.add_argument("--feed", choices=("grpc", "kafka"), default="grpc")
    parser.add_argument("--kafka", help="broker HOST:PORT (feed kafka, and Kafka's own figures)")
    parser.add_argument(
        "--kafka-classpath",
        help="java -cp of the Kafka tools (python docker/services.py classpath kafka)",
    )
    parser.add_argument(
        "--replication-factor", type=int, default=1,
        help="replicas of every topic, the node's and the tools' (3 on a cluster)",
    )  # fmt: skip
    parser.add_argument(
        "--min-insync-replicas", type=int,
        help="replicas that must hold a record before it is acknowledged "
        "(default min(2, replication factor))",
    )  # fmt: skip
    parser.add_argument(
        "--kafka-records", type=int, default=100_000,
        help="records of Kafka's own producer and consumer throughput runs",
    )  # fmt: skip
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--profile", type=Path, metavar="FOLDER",
        help="flame graphs (py-spy) of the township and the province during the loads",
    )  # fmt: skip
    args = parser.parse_args(argv)
    in_sync = args.min_insync_replicas or min(2, args.replication_factor)
    if not 1 <= in_sync <= args.replication_factor:
        parser.error("--min-insync-replicas must be from 1 to --replication-factor")
    return main(
        rate=args.rate, seconds=args.seconds, backlog=args.backlog, feed=args.feed,
        kafka=args.kafka, classpath=args.kafka_classpath, json_path=args.json,
        profile=args.profile, replication=(args.replication_factor, in_sync),
        kafka_records=args.kafka_records,
    )  # fmt: skip


if __name__ == "__main__":
    sys.exit(_cli())
