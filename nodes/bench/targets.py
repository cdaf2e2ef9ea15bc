"""The performance targets (docs/performance.md) and whether a run met them.

A benchmark prints its figures and then one line per target it has, so a
reader sees at once which targets this run met and which it missed, without
looking the numbers up in the docs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Target:
    """One target: a measure, its bound, and which side of the bound passes."""

    measure: str
    bound: float
    at_least: bool
    """True: the measure must be ≥ the bound (a rate, a ratio); False: ≤ (a latency)."""

    def met(self, value: float) -> bool:
        return value >= self.bound if self.at_least else value <= self.bound

    def condition(self) -> str:
        return f"{'≥' if self.at_least else '≤'} {self.bound:g}"

    def line(self, value: float) -> str:
        """`append / echo 0.18 — target ≥ 0.6: missed`."""
        verdict = "met" if self.met(value) else "missed"
        return f"{self.measure} {value:.2f} — target {self.condition()}: {verdict}"

    def document(self, value: float) -> dict[str, Any]:
        return {
            "measure": self.measure,
            "value": value,
            "target": self.condition(),
            "met": self.met(value),
        }


P1_APPEND_OVER_ECHO = Target("P1 append / gRPC echo", 0.6, at_least=True)
P1_APPEND_OVER_LIBRARY = Target("P1 append / eventsourcing save", 1.0, at_least=True)
P1_P99_MS_AT_HALF_PEAK = Target("P1 p99 ms at half the peak rate", 3.0, at_least=False)
P2_OVER_RAW_INSERT = Target("P2 import / raw insert", 0.6, at_least=True)
P2_EVENTS_PER_SECOND = Target("P2 import events/s", 30_000, at_least=True)
P3_LAG_P50_MS = Target("P3 lag p50 ms", 10.0, at_least=False)
P3_LAG_P99_MS = Target("P3 lag p99 ms", 50.0, at_least=False)
P3_KAFKA_LAG_OVER_OWN = Target("P3 Kafka feed lag p99 / Kafka's own p99", 3.0, at_least=False)
P3_CATCH_UP_PER_SECOND = Target("P3 catch-up events/s from the first stored", 30_000, True)
P6_COST_OVER_BASELINE = Target("P6 per-event ingest CPU / at the fewest sources", 1.5, False)


def verdicts(measured: list[tuple[Target, float]]) -> list[str]:
    """One `target …: met|missed` line per measured target, in the order given."""
    return [target.line(value) for target, value in measured]
