"""A background worker that meets an error other than a gRPC one says so and goes
on: logged at error, counted, its health service NOT_SERVING, and tried again
until the fault clears (then SERVING again)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import cast
from uuid import UUID, uuid4

import grpc
from grpc_health.v1 import health, health_pb2
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from caseledger.ledger.application import CaseLedger
from caseledger.nodes.handoff.courier import Courier
from caseledger.nodes.handoff.handover import Handoffs
from caseledger.nodes.workers import COURIER, HANDOFFS, Workers, health_service
from tests.timing import scaled, wait_for

_NODE = "370102000000"


@dataclass
class Faults:
    """Raises a non-gRPC error for the next `left` calls, then lets them through."""

    left: int
    lock: threading.Lock = field(default_factory=threading.Lock)

    def strike(self) -> None:
        with self.lock:
            if self.left > 0:
                self.left -= 1
                raise RuntimeError("the store went away")


class FaultyTail:
    """A subscription to a node's log whose batches fail while `faults` last; it
    delivers `transfers` first, and nothing after them."""

    def __init__(self, faults: Faults, transfers: list[object]) -> None:
        self._faults = faults
        self._transfers = transfers

    def take(self, limit: int, timeout: float) -> list[object]:
        if self._transfers:
            delivered, self._transfers = self._transfers, []
            return delivered
        self._faults.strike()
        threading.Event().wait(timeout)  # an idle log: nothing comes within the timeout
        return []

    def give_back(self, notifications: object) -> None:
        raise AssertionError("nothing was delivered to give back")

    def stop(self) -> None:
        pass


class FaultyLog:
    """A node's held events whose log fails to be followed while `faults` last."""

    def __init__(self, faults: Faults, transfers: list[object] = []) -> None:  # noqa: B006
        self._faults = faults
        self._transfers = transfers

    def follow_authored(self, after: int, topics: object = (), name: str = "") -> FaultyTail:
        # The handoffs follow the transfer requests only; the courier the whole log.
        return FaultyTail(self._faults, list(self._transfers) if topics else [])

    def follower_position(self, follower: str) -> int:
        return 0

    def record_follower_position(self, follower: str, position: int) -> None:
        raise AssertionError("nothing was carried")


def _ledger(held: object, case: object = None) -> CaseLedger:
    return cast(CaseLedger, SimpleNamespace(node=_NODE, held=held, case=case))


def _status(servicer: health.HealthServicer, worker: str) -> int:
    request = health_pb2.HealthCheckRequest(service=health_service(worker))
    # A service that was set needs no context: only an unknown one is given a code.
    status: int = servicer.Check(request, cast(grpc.ServicerContext, None)).status
    return status


def _failures(registry: CollectorRegistry, worker: str) -> float:
    value = registry.get_sample_value("caseledger_worker_failures_total", {"worker": worker})
    return value or 0.0


def test_a_courier_failing_on_its_store_is_reported_retried_and_recovers() -> None:
    registry, servicer = CollectorRegistry(), health.HealthServicer()
    faults = Faults(left=3)
    courier = Courier(_ledger(FaultyLog(faults)), {}, workers=Workers(registry, servicer))
    with capture_logs() as logs:
        courier.start()
        try:
            wait_for(lambda: _failures(registry, COURIER) >= 1, "the failure counted")
            assert _status(servicer, COURIER) == health_pb2.HealthCheckResponse.NOT_SERVING
            wait_for(lambda: faults.left == 0, "the courier tried again", scaled(30))
            wait_for(
                lambda: _status(servicer, COURIER) == health_pb2.HealthCheckResponse.SERVING,
                "the courier back to health",
            )
        finally:
            courier.stop()
    assert _failures(registry, COURIER) == 3
    errors = [e for e in logs if e["log_level"] == "error" and e.get("worker") == COURIER]
    assert len(errors) == 3
    assert "RuntimeError: the store went away" in str(errors[0]["error"])


def test_a_handoff_retry_failing_on_a_case_is_reported_and_the_thread_goes_on() -> None:
    registry, servicer = CollectorRegistry(), health.HealthServicer()
    faults = Faults(left=2)
    pending = uuid4()
    # The start-up scan finds the case's open transfer; then reading it fails twice.
    requested = SimpleNamespace(transfer_to="370100000000", owner=_NODE, version=3, id=pending)
    settled = SimpleNamespace(transfer_to="", owner="370100000000", version=4, id=pending)
    reads = {"count": 0}

    def case(case_id: UUID) -> object:
        reads["count"] += 1
        if reads["count"] == 1:
            return requested
        faults.strike()
        return settled

    transfer = SimpleNamespace(originator_id=pending, id=1)
    handoffs = Handoffs(
        _ledger(FaultyLog(Faults(0), [transfer]), case),
        {},
        lambda: "127.0.0.1:1",
        workers=Workers(registry, servicer),
    )
    with capture_logs() as logs:
        handoffs.start()
        try:
            wait_for(lambda: _failures(registry, HANDOFFS) >= 1, "the failure counted")
            assert _status(servicer, HANDOFFS) == health_pb2.HealthCheckResponse.NOT_SERVING
            wait_for(
                lambda: _status(servicer, HANDOFFS) == health_pb2.HealthCheckResponse.SERVING,
                "the retries back to health",
                scaled(30),
            )
        finally:
            handoffs.stop()
    assert _failures(registry, HANDOFFS) == 2
    errors = [e for e in logs if e["log_level"] == "error" and e.get("worker") == HANDOFFS]
    assert [e["case"] for e in errors] == [str(pending)] * 2
