"""The Kafka client's settings, measured: what `kafka_client`'s defaults rest on.

Two short measurements through `kafka_client` itself (the adapter the feed
uses), on the broker given, each variant in the same run:
  latency:  records due at 500/s (the P3 rate), sent and confirmed the way
            the publisher does (what is due, in one `send_all`, which
            flushes), read by a consumer polling as the feed does; p50/p99 of
            due -> read, per producer linger and consumer fetch wait;
  catch-up: a backlog read from offset 0 as fast as the consumer goes, per
            records per poll and bytes per partition fetch.
Run: python -m caseledger.nodes.bench.kafka_settings --kafka HOST:PORT
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from caseledger.nodes.replication.kafka_client import (
    BrokerSettings,
    ConsumerSettings,
    Partition,
    ProducerSettings,
    TopicAdmin,
    TopicConsumer,
    TopicProducer,
    TopicSettings,
)

_RATE = 500.0
_VALUE_BYTES = 600
"""About a stored case event as the publisher sends it."""
_POLL_MS = 100


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000 if ordered else 0.0


def _topic(admin: TopicAdmin, name: str) -> str:
    topic = f"caseledger-bench-{name}-{uuid.uuid4().hex[:8]}"
    admin.ensure([topic], TopicSettings(partitions=1))
    return topic


def latency(
    broker: BrokerSettings,
    admin: TopicAdmin,
    producer_settings: ProducerSettings,
    consumer_settings: ConsumerSettings,
    seconds: float,
) -> dict[str, Any]:
    topic = _topic(admin, "latency")
    consumer = TopicConsumer(broker, lambda _: 0, consumer_settings)
    consumer.open()
    consumer.assign([Partition(topic, 0)])
    producer = TopicProducer(broker, producer_settings)
    producer.open()
    latencies: list[float] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            for fetched in consumer.poll(_POLL_MS):
                now = time.perf_counter()
                latencies.extend(now - struct.unpack(">d", r.value[:8])[0] for r in fetched.records)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    padding = b"x" * (_VALUE_BYTES - 8)
    start = time.perf_counter()
    sent = 0
    while (elapsed := time.perf_counter() - start) < seconds:
        due = int(elapsed * _RATE) - sent
        if due <= 0:
            time.sleep(0.001)
            continue
        # As the publisher does: what the log gained since the last send, in one
        # confirmed batch; each record stamped with when it was due (appended).
        producer.send_all(
            [
                (topic, b"k", struct.pack(">d", start + (sent + i) / _RATE) + padding)
                for i in range(due)
            ]
        )
        sent += due
    time.sleep(1.0)
    done.set()
    reader.join()
    producer.close()
    consumer.close()
    return {
        "linger_ms": producer_settings.linger_ms,
        "fetch_max_wait_ms": consumer_settings.fetch_max_wait_ms,
        "sent": sent,
        "read": len(latencies),
        "p50_ms": _percentile(latencies, 0.5),
        "p99_ms": _percentile(latencies, 0.99),
    }


def catch_up(
    broker: BrokerSettings, topic: str, records: int, settings: ConsumerSettings
) -> dict[str, Any]:
    consumer = TopicConsumer(broker, lambda _: 0, settings)
    consumer.open()
    consumer.assign([Partition(topic, 0)])
    read = 0
    start = time.perf_counter()
    while read < records:
        read += sum(len(f.records) for f in consumer.poll(_POLL_MS))
    seconds = time.perf_counter() - start
    consumer.close()
    return {
        "max_poll_records": settings.max_poll_records,
        "max_partition_fetch_bytes": settings.max_partition_fetch_bytes,
        "records_per_second": read / seconds,
    }


def run(kafka: str, seconds: float, backlog: int) -> dict[str, Any]:
    broker = BrokerSettings((kafka,), client_id="caseledger-bench")
    admin = TopicAdmin(broker)
    admin.open()
    defaults = ConsumerSettings()
    latencies = [
        latency(broker, admin, ProducerSettings(linger_ms=linger), consumer, seconds)
        for linger in (0, 5)
        for consumer in (
            ConsumerSettings(fetch_max_wait_ms=10),
            ConsumerSettings(fetch_max_wait_ms=100),
            ConsumerSettings(fetch_max_wait_ms=500),
        )
    ]
    topic = _topic(admin, "backlog")
    producer = TopicProducer(broker, ProducerSettings())
    producer.open()
    value = b"x" * _VALUE_BYTES
    for index in range(0, backlog, 1000):
        producer.send_all([(topic, b"k", value)] * min(1000, backlog - index))
    producer.close()
    catch_ups = [
        catch_up(broker, topic, backlog, settings)
        for settings in (
            ConsumerSettings(max_poll_records=500, max_partition_fetch_bytes=1024 * 1024),
            defaults,
            ConsumerSettings(max_poll_records=10_000, max_partition_fetch_bytes=16 * 1024 * 1024),
        )
    ]
    return {
        "benchmark": "Kafka client settings (kafka_client, same broker, same run)",
        "cpus": os.cpu_count(),
        "rate_per_second": _RATE,
        "seconds": seconds,
        "backlog": backlog,
        "latency": latencies,
        "catch_up": catch_ups,
    }


def render(report: dict[str, Any]) -> str:
    lines = [
        f"{report['benchmark']}: {report['rate_per_second']:.0f} records/s for "
        f"{report['seconds']:.0f} s per variant, {report['cpus']} CPUs",
        f"{'linger ms':>10} {'fetch wait ms':>14} {'p50 ms':>8} {'p99 ms':>8} {'read/sent':>12}",
    ]
    for f in report["latency"]:
        lines.append(
            f"{f['linger_ms']:>10} {f['fetch_max_wait_ms']:>14} {f['p50_ms']:>8.2f} "
            f"{f['p99_ms']:>8.2f} {f['read']:>6}/{f['sent']:<5}"
        )
    lines.append(f"catch-up of {report['backlog']} records from offset 0:")
    lines.append(f"{'records/poll':>14} {'fetch bytes':>12} {'records/s':>10}")
    for f in report["catch_up"]:
        lines.append(
            f"{f['max_poll_records']:>14} {f['max_partition_fetch_bytes']:>12} "
            f"{f['records_per_second']:>10.0f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m caseledger.nodes.bench.kafka_settings")
    parser.add_argument("--kafka", default=os.environ.get("CASELEDGER_KAFKA", "127.0.0.1:9092"))
    parser.add_argument("--seconds", type=float, default=3.0, help="per latency variant")
    parser.add_argument("--backlog", type=int, default=30_000, help="records to catch up")
    parser.add_argument("--json", type=Path, metavar="PATH")
    args = parser.parse_args(argv)
    report = run(args.kafka, args.seconds, args.backlog)
    print(render(report))
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
