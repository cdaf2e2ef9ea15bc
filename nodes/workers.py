"""A node's background workers (后台线程), and what happens when one fails.

A node runs threads beside its server: the courier, the handoff retries, the
feeds, the Kafka publisher, the checkpoint signer. A thread
that dies on an unexpected error leaves the node answering calls as if all
were well while its trails stop moving. So every worker reports through
`Workers`: a failure that is not the expected network weather (a gRPC error,
handled where it happens) is logged at error with its traceback, counted in
`caseledger_worker_failures{worker}`, and turns the worker's health service
`caseledger.worker.<name>` NOT_SERVING (and `caseledger_worker_healthy` 0)
until a later pass succeeds. The worker then tries again after a backoff
(`Backoff`): none of them stops silently.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import structlog
from grpc_health.v1 import health, health_pb2
from prometheus_client import CollectorRegistry, Counter, Gauge

_log = structlog.get_logger("caseledger.nodes.workers")

WORKER_HEALTH_PREFIX = "caseledger.worker."
"""`caseledger.worker.<name>` is SERVING while the worker's last pass succeeded."""

COURIER = "courier"
HANDOFFS = "handoffs"
PUBLISHER = "publisher"
CHECKPOINTS = "checkpoints"
KAFKA_FEED = "feed.kafka"
"""The Kafka feed's one consumer thread (the gRPC feed reports per source, `feed_worker`)."""


def feed_worker(source: str) -> str:
    """The worker name of the gRPC feed's following of `source` (a task of its loop)."""
    return f"feed.{source}"


def health_service(worker: str) -> str:
    return WORKER_HEALTH_PREFIX + worker


@dataclass
class Backoff:
    """Waits that double after each failure, up to `longest`, back to `first` after a success."""

    first: float = 0.1
    longest: float = 30.0
    _next: float = field(default=0.0, init=False)

    def failed(self) -> float:
        """How long to wait before trying again."""
        self._next = self.first if self._next == 0.0 else min(self._next * 2, self.longest)
        return self._next

    def succeeded(self) -> None:
        self._next = 0.0


class Workers:
    """Where a node's workers report; one per node, on the node's metrics registry
    and health servicer (a worker made alone gets private ones)."""

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        health_servicer: health.HealthServicer | None = None,
    ) -> None:
        registry = registry if registry is not None else CollectorRegistry()
        self.registry = registry  # the node's, which its other metrics share
        self._health = health_servicer
        self._failing: set[str] = set()
        self._lock = threading.Lock()
        self.failures = Counter(
            "caseledger_worker_failures",
            "Unexpected failures of a background worker (each retried), by worker",
            ["worker"],
            registry=registry,
        )
        self.healthy = Gauge(
            "caseledger_worker_healthy",
            "1 while the worker's last pass succeeded, 0 while it is failing",
            ["worker"],
            registry=registry,
        )

    def started(self, worker: str) -> None:
        self.failures.labels(worker=worker)  # exported as 0 from the start
        self._show(worker, serving=True)

    def failed(self, worker: str, error: BaseException, **context: object) -> None:
        """Call from the worker's `except Exception`: logged with the traceback,
        counted, and shown in health until `succeeded`."""
        _log.error(
            "background worker failed; it will try again",
            worker=worker,
            error=f"{type(error).__name__}: {error}",
            exc_info=error,
            **context,
        )
        self.failures.labels(worker=worker).inc()
        with self._lock:
            self._failing.add(worker)
        self._show(worker, serving=False)

    def succeeded(self, worker: str) -> None:
        with self._lock:
            if worker not in self._failing:
                return
            self._failing.discard(worker)
        _log.info("background worker recovered", worker=worker)
        self._show(worker, serving=True)

    def failing(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._failing)

    def _show(self, worker: str, *, serving: bool) -> None:
        self.healthy.labels(worker=worker).set(1 if serving else 0)
        if self._health is not None:
            status = (
                health_pb2.HealthCheckResponse.SERVING
                if serving
                else health_pb2.HealthCheckResponse.NOT_SERVING
            )
            self._health.set(health_service(worker), status)
