"""One writer per log: the lease, the fencing epoch, and repair after a broken append.

Failures are injected at the session, the one place that talks to the
driver: a write that raises after the log committed is exactly what a
process sees when it dies between the two steps, except that it lives on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import IntegrityError, OperationalError, StoredEvent, Tracking

from caseledger.ledger.cassandra.lease import LeaseHeld, WriterFenced
from caseledger.ledger.cassandra.session import CqlSession, OutcomeUnknown, Statement
from tests.cassandra_fixtures import (  # noqa: F401
    application,
    cassandra_keyspace,
    empty_store,
    opened,
    process,
    store_env,
)

pytestmark = [pytest.mark.cassandra, pytest.mark.usefixtures("cassandra_keyspace")]

ENV = {"CASSANDRA_TABLE_PREFIX": "writertest_", "CASSANDRA_LOG_BUCKET_SIZE": "4"}


def env(**extra: str) -> dict[str, str]:
    return store_env(**{**ENV, **extra})


@pytest.fixture(autouse=True)
def _empty() -> None:
    empty_store(env())


def event(version: int = 1) -> StoredEvent:
    return StoredEvent(uuid4(), version, "topic", b"{}")


def fail_once(
    monkeypatch: pytest.MonkeyPatch,
    session: CqlSession,
    method: str,
    when: Callable[[Sequence[Any]], bool],
    then: Callable[[Callable[..., Any], Any], Any],
) -> list[int]:
    """Make the first call of `session.method` that `when` picks do `then` instead."""
    real = getattr(session, method)
    calls: list[int] = []

    def patched(arg: Any, *rest: Any) -> Any:
        if not calls and when(arg):
            calls.append(1)
            return then(real, arg)
        return real(arg, *rest)

    monkeypatch.setattr(session, method, patched)
    return calls


def is_append(statements: Sequence[Statement]) -> bool:
    return len(statements) > 1 and "INSERT INTO" in statements[1][0]


def is_sequence_write(groups: Sequence[Sequence[Statement]]) -> bool:
    return any("stored_events" in cql for group in groups for cql, _ in group)


def crash(real: Callable[..., Any], arg: Any) -> Any:
    raise OperationalError("the process died here")


def test_a_second_writer_is_refused_while_the_first_holds_the_lease() -> None:
    with opened(env()) as first:
        application(first).insert_events([event()])
        with opened(env()) as second, pytest.raises(LeaseHeld, match="pid"):
            second.application_recorder()


def test_the_next_writer_goes_on_from_the_tail_once_the_lease_is_given_back() -> None:
    with opened(env()) as first:
        application(first).insert_events([event(), event(), event()])
    with opened(env()) as second:
        assert application(second).insert_events([event()]) == [4]


def test_a_writer_whose_lease_lapsed_is_fenced_by_its_successor() -> None:
    with opened(env()) as first:
        stale = application(first)
        stale.insert_events([event()])
        # As if it had stalled past its lease: the lease is free, the writer lives on.
        stale.writer.close()
        with opened(env()) as second:
            successor = application(second)
            assert successor.insert_events([event()]) == [2]
            late = event()
            with pytest.raises(WriterFenced):
                stale.insert_events([late])
            assert successor.select_events(late.originator_id) == []
            assert [n.id for n in successor.select_notifications(1, 10)] == [1, 2]
            assert successor.insert_events([event()]) == [3]


def test_a_crash_after_the_log_is_repaired_by_the_next_writer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lost = event()
    with opened(env()) as first:
        recorder = process(first)
        fail_once(monkeypatch, recorder.datastore.session, "write_all", is_sequence_write, crash)
        with pytest.raises(OperationalError):
            recorder.insert_events([lost], tracking=Tracking("upstream", 7))
        # In the log, not yet in its sequence, position not yet recorded.
        assert [n.originator_id for n in recorder.select_notifications(1, 10)] == [
            lost.originator_id
        ]
        assert recorder.select_events(lost.originator_id) == []
        assert recorder.max_tracking_id("upstream") is None
    monkeypatch.undo()
    with opened(env()) as second:
        repaired = process(second)
        assert repaired.select_events(lost.originator_id) == [lost]
        assert repaired.max_tracking_id("upstream") == 7


def test_a_writer_repairs_its_own_broken_append_before_the_next(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lost, after = event(), event()
    with opened(env()) as factory:
        recorder = application(factory)
        fail_once(monkeypatch, recorder.datastore.session, "write_all", is_sequence_write, crash)
        with pytest.raises(OperationalError):
            recorder.insert_events([lost])
        assert recorder.insert_events([after]) == [2]
        assert recorder.select_events(lost.originator_id) == [lost]


def test_an_event_is_never_in_its_sequence_before_it_is_in_the_log(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    refused = event()
    with opened(env()) as factory:
        recorder = application(factory)
        fail_once(monkeypatch, recorder.datastore.session, "cas", is_append, crash)
        with pytest.raises(OperationalError):
            recorder.insert_events([refused])
        assert recorder.select_events(refused.originator_id) == []
        assert recorder.max_notification_id() is None


def test_an_append_whose_answer_was_lost_but_applied_counts_as_done(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def applied_then_lost(real: Callable[..., Any], statements: Any) -> Any:
        real(statements)
        raise OutcomeUnknown("timed out")

    written = event()
    with opened(env()) as factory:
        recorder = application(factory)
        fail_once(monkeypatch, recorder.datastore.session, "cas", is_append, applied_then_lost)
        assert recorder.insert_events([written]) == [1]
        assert recorder.select_events(written.originator_id) == [written]
        assert recorder.insert_events([event()]) == [2]


def test_an_append_whose_answer_was_lost_and_not_applied_fails_and_frees_its_ids(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def lost(real: Callable[..., Any], statements: Any) -> Any:
        raise OutcomeUnknown("timed out")

    with opened(env()) as factory:
        recorder = application(factory)
        fail_once(monkeypatch, recorder.datastore.session, "cas", is_append, lost)
        with pytest.raises(OutcomeUnknown):
            recorder.insert_events([event()])
        assert recorder.insert_events([event()]) == [1]


def test_a_stored_version_is_refused_after_a_restart() -> None:
    stored = event()
    with opened(env()) as first:
        application(first).insert_events([stored])
    with opened(env()) as second:
        recorder = application(second)
        with pytest.raises(IntegrityError, match="already stored"):
            recorder.insert_events([stored, event()])
        assert recorder.max_notification_id() == 1


def test_restarts_find_the_tail_of_a_batch_that_ran_past_its_bucket() -> None:
    # Buckets of 4: ids 3..6 all live in bucket 0, though 4..6 are in bucket 1's range.
    with opened(env()) as first:
        application(first).insert_events([event(), event()])
        application(first).insert_events([event(), event(), event(), event()])
    for _ in range(2):
        with opened(env()) as again:
            recorder = application(again)
            assert recorder.max_notification_id() == 6
    with opened(env()) as last:
        assert application(last).insert_events([event()]) == [7]
