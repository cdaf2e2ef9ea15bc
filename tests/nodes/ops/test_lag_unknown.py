"""A source the feed cannot reach has an unknown lag, not the last one seen."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import cast
from uuid import uuid4

from eventsourcing.persistence import StoredEvent
from prometheus_client import CollectorRegistry

from caseledger.ledger.errors import UnreadableEvent
from caseledger.ledger.trail.received import Delivery, KnownHashes, ReceivedEvents
from caseledger.nodes.replication.port import FeedMetrics, Intake

_SOURCE = "370102001000"


class StoresEverything:
    """A received-events store that takes every batch (the intake's checks are not
    what this test is about)."""

    quarantine = None

    def receive(self, source: str, deliveries: Sequence[Delivery], known: object) -> int:
        return len(deliveries)

    def decode(self, event: StoredEvent) -> object:
        raise UnreadableEvent("t", "not decoded here")


def _lag(registry: CollectorRegistry) -> float | None:
    return registry.get_sample_value("caseledger_replication_lag_events", {"source": _SOURCE})


def _intake(registry: CollectorRegistry) -> Intake:
    received = cast(ReceivedEvents, StoresEverything())
    return Intake(received, cast(KnownHashes, None), FeedMetrics(registry))


def _delivery(position: int) -> Delivery:
    return Delivery(position, StoredEvent(uuid4(), 1, "t", b"{}"))


def test_a_source_that_dies_caught_up_has_an_unknown_lag_until_it_sends_again() -> None:
    registry = CollectorRegistry()
    intake = _intake(registry)
    intake.take(_SOURCE, [_delivery(7)], head=7)
    assert _lag(registry) == 0
    intake.unreachable(_SOURCE)
    lag = _lag(registry)
    assert lag is not None
    assert math.isnan(lag)
    intake.take(_SOURCE, [_delivery(8)], head=10)
    assert _lag(registry) == 2


class HeldUpTo(StoresEverything):
    """A received-events store whose position for every source is 8."""

    def position(self, source: str) -> int:
        return 8


def _intake_at_eight(registry: CollectorRegistry) -> Intake:
    received = cast(ReceivedEvents, HeldUpTo())
    return Intake(received, cast(KnownHashes, None), FeedMetrics(registry))


def test_a_source_caught_up_after_an_outage_has_its_lag_known_again_without_a_new_event() -> None:
    registry = CollectorRegistry()
    intake = _intake_at_eight(registry)
    intake.unreachable(_SOURCE)
    intake.caught_up(_SOURCE, head=10, filtered=False)
    assert _lag(registry) == 2


def test_a_filtered_source_caught_up_has_no_lag_whatever_its_whole_log_holds() -> None:
    registry = CollectorRegistry()
    intake = _intake_at_eight(registry)
    intake.unreachable(_SOURCE)
    # The head counts every record of the source's log; a filtered stream
    # (its catalogue) carries few of them, and has sent all it has.
    intake.caught_up(_SOURCE, head=500, filtered=True)
    assert _lag(registry) == 0
