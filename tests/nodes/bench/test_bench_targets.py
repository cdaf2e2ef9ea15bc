"""Benchmarks say, for each target they have, whether this run met it."""

from __future__ import annotations

from typing import Any

from caseledger.nodes.bench import append, replication
from caseledger.nodes.bench.intake import render, run
from caseledger.nodes.bench.targets import P1_APPEND_OVER_ECHO, P1_P99_MS_AT_HALF_PEAK


def test_a_target_is_met_on_its_own_side_of_the_bound() -> None:
    assert P1_APPEND_OVER_ECHO.line(0.61) == "P1 append / gRPC echo 0.61 — target ≥ 0.6: met"
    assert P1_APPEND_OVER_ECHO.line(0.18) == "P1 append / gRPC echo 0.18 — target ≥ 0.6: missed"
    assert P1_P99_MS_AT_HALF_PEAK.line(2.5).endswith("target ≤ 3: met")
    assert P1_P99_MS_AT_HALF_PEAK.line(164.0).endswith("target ≤ 3: missed")


def test_the_append_report_prints_a_verdict_for_each_p1_target() -> None:
    figure = {"name": "x", "per_second": 1.0, "p50_ms": 1.0, "p99_ms": 1.0, "count": 1}
    report: dict[str, Any] = {
        "benchmark": "P1 durable append",
        "clients": 1,
        "seconds": 1.0,
        "cpus": 2,
        "figures": [figure],
        "ratios": {
            "append / echo (target >= 0.6)": 0.7,
            "append / eventsourcing save (target >= 1.0)": 0.5,
        },
        "p99_ms_at_half_peak (target <= 3)": 164.0,
    }
    text = append.render(report)
    assert "P1 append / gRPC echo 0.70 — target ≥ 0.6: met" in text
    assert "P1 append / eventsourcing save 0.50 — target ≥ 1: missed" in text
    assert "P1 p99 ms at half the peak rate 164.00 — target ≤ 3: missed" in text


def test_the_replication_report_holds_the_kafka_feed_to_kafkas_own_lag() -> None:
    report: dict[str, Any] = {
        "feed": "kafka",
        "lag": {"p50_ms": 200.0, "p99_ms": 150.0},
        "catch_up": {"streaming_per_second": 40_000.0},
        "kafka_own": {"e2e_p99_ms": 51},
    }
    lines = [t.line(v) for t, v in replication.measured_targets(report)]
    assert lines == [
        "P3 Kafka feed lag p99 / Kafka's own p99 2.94 — target ≤ 3: met",
        "P3 catch-up events/s from the first stored 40000.00 — target ≥ 30000: met",
    ]


def test_a_real_intake_run_prints_and_records_its_verdicts() -> None:
    report = run(records=20, batch=10, calls=1, insecure=True)
    text = render(report)
    assert "P2 import / raw insert" in text
    assert "— target ≥ 0.6: " in text
    assert "P2 import events/s" in text
    assert "— target ≥ 30000: " in text
    assert [target["met"] for target in report["targets"]] == [
        report["ratio"] >= 0.6,
        report["figures"][0]["events_per_second"] >= 30_000,
    ]
