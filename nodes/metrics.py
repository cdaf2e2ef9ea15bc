"""Prometheus metrics of a node, registered on a registry of its own so that
several nodes in one process (tests, simulations) do not collide."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0)


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.appends = Counter(
            "caseledger_appends", "Events appended by commands", ["rpc"], registry=self.registry
        )
        self.errors = Counter(
            "caseledger_command_errors",
            "Commands refused, by status",
            ["rpc", "code"],
            registry=self.registry,
        )
        self.refusals = Counter(
            "caseledger_refusals",
            "Calls refused for who made them or what they may do, by reason",
            ["rpc", "reason"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "caseledger_rpc_seconds",
            "RPC handling time",
            ["rpc"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.log_position = Gauge(
            "caseledger_log_position",
            "Highest position in the node's own log",
            registry=self.registry,
        )
        self.projection_lag = Gauge(
            "caseledger_projection_lag_events",
            "Positions of a log the node's view has still to process",
            ["view", "upstream"],
            registry=self.registry,
        )
