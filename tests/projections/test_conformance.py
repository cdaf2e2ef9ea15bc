"""The projection's guarantees: order of the two logs, redelivery, crashes, rebuilds.

The node is a county that holds every case of a small network: the events
it appended itself come through its authored log, all others through its
received store, so a case reported up to it, or by it, has events in both.
Rows are compared with each case's facts folded straight from its whole
trail.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caseledger.ledger.case.events import CaseEvent
from caseledger.projections.projection import AUTHORED, RECEIVED, CaseProjection
from tests.projections.histories import PROVINCE, START, case_mapper, simulate
from tests.projections.stores import NodeStores, ViewStore, expected_rows, view_rows

MAPPER = case_mapper()
LOGS = (AUTHORED, RECEIVED)


NODE = "370102000000"
"""历下区: its townships report cases up to it, and it reports cases up to 济南市."""
NETWORK = [PROVINCE, "370100000000", NODE, "370102001000", "370102002000"]


def _history(seed: int, cases: int = 8) -> list[CaseEvent]:
    return simulate(random.Random(seed), NETWORK, cases, START)


def _finish(stores: NodeStores, projection: CaseProjection, most: int = 1000) -> None:
    stores.commit_all()
    for log in LOGS:
        while stores.undelivered(log, 1):
            stores.deliver(projection, log, most)


Action = tuple[str, str, int]
actions = st.lists(
    st.tuples(st.sampled_from(["commit", "deliver"]), st.sampled_from(LOGS), st.integers(1, 4)),
    max_size=150,
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(seed=st.integers(0, 2**16), steps=actions)
def test_any_interleaving_of_the_two_logs_gives_the_same_rows(
    views_store: ViewStore, seed: int, steps: list[Action]
) -> None:
    with views_store:
        events = _history(seed)
        stores = NodeStores(NODE, events, MAPPER)
        projection = stores.projection(views_store.fresh())
        for what, log, count in steps:
            for _ in range(count):
                if what == "commit" and stores.can_commit(log):
                    stores.commit(log)
            if what == "deliver":
                stores.deliver(projection, log, count)
        _finish(stores, projection)
        assert view_rows(projection.view) == expected_rows(events)


def test_both_logs_carry_events_in_the_histories_tested() -> None:
    # The interleaving property says nothing if one log were always empty.
    stores = NodeStores(NODE, _history(7, cases=30), MAPPER)
    assert stores.pending[AUTHORED]
    assert stores.pending[RECEIVED]
    reported = {e.originator_id for e in stores.pending[AUTHORED]} & {
        e.originator_id for e in stores.pending[RECEIVED]
    }
    assert reported, "no case has events in both logs"


def test_a_later_log_delivering_first_is_refolded_from_the_held_trail(
    views_store: ViewStore,
) -> None:
    events = _history(7, cases=30)
    stores = NodeStores(NODE, events, MAPPER)
    projection = stores.projection(views_store.fresh())
    stores.commit_all()
    # The authored log first: its cases' earlier versions are only in the received store.
    while stores.undelivered(AUTHORED, 1):
        stores.deliver(projection, AUTHORED, 3)
    split = {e.originator_id for e in stores.pending[AUTHORED]} & {
        e.originator_id for e in stores.pending[RECEIVED]
    }
    rows = view_rows(projection.view)
    expected = expected_rows(events)
    assert split
    for case_id in split:
        assert rows[str(case_id)] == expected[str(case_id)]


def test_a_redelivered_batch_changes_nothing(views_store: ViewStore) -> None:
    events = _history(11)
    stores = NodeStores(NODE, events, MAPPER)
    projection = stores.projection(views_store.fresh())
    _finish(stores, projection, most=5)
    before = projection.view.all_rows()
    positions = {log: projection.view.position(log) for log in LOGS}
    for log in LOGS:
        stores.delivered[log] = 0
        batch = stores.undelivered(log, 10_000)
        assert projection.process(log, batch) == 0
        assert projection.process(log, batch[:3]) == 0
    assert projection.view.all_rows() == before
    assert {log: projection.view.position(log) for log in LOGS} == positions


class _CrashingMapper:
    """The ledger's mapper, which fails once on its `fail_at`-th decode."""

    def __init__(self, fail_at: int) -> None:
        self.calls = 0
        self.fail_at = fail_at

    def __getattr__(self, name: str) -> Any:
        return getattr(MAPPER, name)

    def to_domain_event(self, stored: Any) -> Any:
        self.calls += 1
        if self.calls == self.fail_at:
            raise RuntimeError("crash")
        return MAPPER.to_domain_event(stored)


def test_a_crash_in_the_middle_of_a_batch_writes_none_of_it_and_resumes_exactly(
    tmp_path: Path, views_store: ViewStore
) -> None:
    events = _history(13, cases=10)
    stores = NodeStores(NODE, events, MAPPER)
    stores.commit_all()
    where = views_store.location(tmp_path)
    views = views_store.open(*where)
    stores.deliver(stores.projection(views), RECEIVED, 7)
    before = views.all_rows()
    position = views.position(RECEIVED)

    crashing = _CrashingMapper(fail_at=4)
    trails = stores.projection(views).trails
    projection = CaseProjection(views, trails, crashing)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="crash"):
        projection.process(RECEIVED, stores.undelivered(RECEIVED, 10))
    assert crashing.calls >= 4
    views.close()

    reopened = views_store.open(*where)
    assert reopened.all_rows() == before
    assert reopened.position(RECEIVED) == position
    _finish(stores, stores.projection(reopened))
    assert view_rows(reopened) == expected_rows(events)


def test_a_rebuild_equals_the_incremental_result(views_store: ViewStore) -> None:
    events = _history(17, cases=12)
    stores = NodeStores(NODE, events, MAPPER)
    incremental = stores.projection(views_store.fresh())
    rng = random.Random(1)
    while any(stores.can_commit(log) for log in LOGS):
        log = rng.choice(LOGS)
        if stores.can_commit(log):
            stores.commit(log)
        stores.deliver(incremental, rng.choice(LOGS), rng.randint(1, 3))
    _finish(stores, incremental)

    rebuilt = stores.projection(views_store.fresh())
    for log in LOGS:
        rebuilt.process(log, list(stores.recorder(log).select_notifications(1, 100_000)))
    assert rebuilt.view.all_rows() == incremental.view.all_rows()
    for log in LOGS:
        assert rebuilt.view.position(log) == incremental.view.position(log)
