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

from caseledger.ledger.trail.quarantine import Quarantine, Reason
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
    after = time.time()
    assert taken.sample("caseledger_replication_delay_seconds_count") == 1
    delay = taken.sample("caseledger_replication_delay_seconds_sum")
    assert delay is not None
    assert before - newest <= delay <= after - newest


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


def quarantined_intake() -> tuple[Intake, Quarantine, CollectorRegistry]:
    quarantine = Quarantine()
    received = ReceivedEvents(env=POPO, quarantine=quarantine)
    registry = CollectorRegistry()
    return Intake(received, KnownHashes([received]), FeedMetrics(registry)), quarantine, registry


def test_positions_a_batch_skips_are_each_recorded_once_as_a_gap_in_the_source_log() -> None:
    intake, quarantine, _ = quarantined_intake()
    events = stored_trail()
    intake.take(SOURCE, deliveries(events[:3]), head=9)
    batch = [Delivery(6, events[3]), Delivery(7, events[4]), Delivery(9, events[4])]
    intake.note_gaps(SOURCE, batch)
    intake.note_gaps(SOURCE, batch)  # the same batch again: the same gaps, recorded once
    gaps = [(e.reason, e.version, e.detail) for e in quarantine.entries()]
    assert gaps == [
        (Reason.LOG_GAP, 4, "positions 4..5 of the source's log never came"),
        (Reason.LOG_GAP, 8, "positions 8..8 of the source's log never came"),
    ]


def test_a_batch_that_follows_the_tracked_position_records_no_gap(taken: Taken) -> None:
    events = stored_trail()
    taken.intake.take(SOURCE, deliveries(events[:3]), head=5)
    taken.intake.note_gaps(SOURCE, deliveries(events[3:], first_position=4))
    assert taken.sample("caseledger_trail_breaks_total") is None
    assert (
        taken.registry.get_sample_value(
            "caseledger_quarantined_cases", {"source": SOURCE, "reason": "log_gap"}
        )
        is None
    )


def test_a_gap_without_a_quarantine_is_still_counted_and_is_no_broken_trail(
    taken: Taken,
) -> None:
    events = stored_trail()
    taken.intake.note_gaps(SOURCE, [Delivery(3, events[0])])
    reported = {"source": SOURCE, "reason": "log_gap"}
    assert taken.registry.get_sample_value("caseledger_quarantined_cases", reported) == 1
    assert taken.sample("caseledger_trail_breaks_total") is None


def test_an_uncarried_record_moves_the_position_past_it_and_never_back() -> None:
    intake, quarantine, _ = quarantined_intake()
    intake.take(SOURCE, deliveries(stored_trail()[:3]), head=9)
    intake.skip(SOURCE, 5, "over the receive limit")
    intake.skip(SOURCE, 2, "over the receive limit")  # behind the position: recorded only
    assert intake.position(SOURCE) == 5
    assert [(e.reason, e.version) for e in quarantine.entries()] == [
        (Reason.UNCARRIED, 5),
        (Reason.UNCARRIED, 2),
    ]


def test_a_batch_overlapping_the_tracked_position_records_no_gap() -> None:
    intake, quarantine, _ = quarantined_intake()
    events = stored_trail()
    intake.take(SOURCE, deliveries(events[:3]), head=5)
    intake.note_gaps(SOURCE, deliveries(events[1:], first_position=2))
    assert quarantine.entries() == []


def test_a_case_quarantined_for_a_broken_trail_is_counted_as_a_break() -> None:
    intake, quarantine, registry = quarantined_intake()
    events = stored_trail()
    events[2] = tampered(events[2])
    intake.take(SOURCE, deliveries(events), head=len(events))  # the case is held, not refused
    assert [e.reason for e in quarantine.entries()] == [Reason.HASH_MISMATCH]
    assert registry.get_sample_value("caseledger_trail_breaks_total", {"source": SOURCE}) == 1
