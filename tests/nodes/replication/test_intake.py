"""The port's intake, without a transport: what it stores, counts and measures."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from eventsourcing.persistence import StoredEvent
from prometheus_client import CollectorRegistry

from caseledger.ledger.trail.received import Delivery, KnownHashes, ReceivedEvents, TrailBroken
from caseledger.nodes.replication.port import FeedMetrics, Intake
from tests.ledger.trail.trails import POPO, deliveries, stored_trail

SOURCE = "370102001000"


@dataclasses.dataclass
class Taken:
    intake: Intake
    registry: CollectorRegistry
    observed: list[tuple[Sequence[Delivery], float]]

    def sample(self, name: str) -> float | None:
        return self.registry.get_sample_value(name, {"source": SOURCE})


@pytest.fixture
def taken() -> Taken:
    received = ReceivedEvents(env=POPO)
    registry = CollectorRegistry()
    intake = Intake(received, KnownHashes([received]), FeedMetrics(registry))
    observed: list[tuple[Sequence[Delivery], float]] = []
    intake.observer = lambda batch, at: observed.append((batch, at))
    return Taken(intake, registry, observed)


def tampered(event: StoredEvent) -> StoredEvent:
    state = json.loads(event.state)
    state["payload"]["opinion"] = "不同意"
    return dataclasses.replace(event, state=json.dumps(state).encode())


def test_stored_events_are_counted_by_source_and_a_batch_again_counts_nothing(
    taken: Taken,
) -> None:
    batch = deliveries(stored_trail())
    assert taken.intake.take(SOURCE, batch, head=len(batch)) == len(batch)
    assert taken.intake.take(SOURCE, batch, head=len(batch)) == 0
    assert taken.sample("caseledger_events_received_total") == len(batch)
    assert taken.intake.position(SOURCE) == len(batch)


def test_lag_is_the_source_head_past_the_last_delivered_position(taken: Taken) -> None:
    batch = deliveries(stored_trail())
    taken.intake.take(SOURCE, batch[:2], head=10)
    assert taken.sample("caseledger_replication_lag_events") == 8


def test_lag_is_never_below_zero(taken: Taken) -> None:
    batch = deliveries(stored_trail())
    taken.intake.take(SOURCE, batch, head=1)  # a head read before the batch was appended
    assert taken.sample("caseledger_replication_lag_events") == 0


def test_the_delay_of_a_stored_batch_runs_from_its_newest_event(taken: Taken) -> None:
    events = stored_trail()
    newest = taken.intake.received.decode(events[-1]).timestamp.timestamp()
    before = time.time()
    taken.intake.take(SOURCE, deliveries(events), head=len(events))
    assert taken.sample("caseledger_replication_delay_seconds_count") == 1
    delay = taken.sample("caseledger_replication_delay_seconds_sum")
    assert delay is not None
    assert delay >= before - newest


def test_a_delay_from_an_event_stamped_in_the_future_is_zero(taken: Taken) -> None:
    ahead = datetime.now(UTC) + timedelta(days=30)  # a source whose clock runs ahead
    events = stored_trail(start=ahead)
    taken.intake.take(SOURCE, deliveries(events), head=len(events))
    assert taken.sample("caseledger_replication_delay_seconds_count") == 1
    assert taken.sample("caseledger_replication_delay_seconds_sum") == 0


def test_the_observer_sees_each_stored_batch_and_no_batch_again(taken: Taken) -> None:
    batch = deliveries(stored_trail())
    taken.intake.take(SOURCE, batch, head=len(batch))
    taken.intake.take(SOURCE, batch, head=len(batch))
    assert [list(seen) for seen, _ in taken.observed] == [batch]


def test_a_batch_that_does_not_verify_is_counted_as_a_break_and_nothing_of_it_stored(
    taken: Taken,
) -> None:
    events = stored_trail()
    events[2] = tampered(events[2])
    with pytest.raises(TrailBroken):
        taken.intake.take(SOURCE, deliveries(events), head=len(events))
    assert taken.sample("caseledger_trail_breaks_total") == 1
    assert taken.sample("caseledger_events_received_total") is None
    assert taken.intake.position(SOURCE) == 0
    assert taken.observed == []
