"""Pulls resumed from each other's position repeat nothing and miss nothing,
whatever order the district's two logs deliver in and wherever a pull falls."""

from __future__ import annotations

import random
from uuid import UUID

import pytest

from caseledger.ledger.case.events import CaseEvent
from caseledger.projections import HeldTrails
from caseledger.projections.exchange import STAGE_TABLES, Change, ExchangeProjection, Row
from caseledger.projections.exchange.pull import Pull
from caseledger.projections.projection import AUTHORED, RECEIVED
from tests.projections.exchange.day import DISTRICT, STREET, day_events, district_exchange
from tests.projections.stores import NodeStores, ViewStore

Reader = dict[tuple[str, tuple[object, ...]], Row]


def _pull(projection: ExchangeProjection, since: int, reader: Reader, page_size: int) -> int:
    """One pull applied to the reader's copy; returns the position to resume from."""
    pull = Pull(projection.exchange, DISTRICT, since=since, page_size=page_size)
    for page in pull.pages():
        for change in page.changes:
            _apply(reader, change, since, pull.upto)
    return pull.upto


def _apply(reader: Reader, change: Change, since: int, upto: int) -> None:
    table = next(t for t in STAGE_TABLES if t.name == change.table)
    key = (change.table, tuple(change.row[k] for k in table.key_names))
    assert since < change.batch <= upto
    if change.operation == "I":
        assert key not in reader, f"inserted twice: {key}"
    else:
        assert key in reader, f"an update of a row never pulled: {key}"
        assert reader[key] != change.row, f"pulled again unchanged: {key}"
    reader[key] = change.row


def _everything(projection: ExchangeProjection) -> Reader:
    reader: Reader = {}
    _pull(projection, 0, reader, 1000)
    return reader


def _deliver_some(stores: NodeStores, projection: ExchangeProjection, rng: random.Random) -> bool:
    """Commit and deliver a little of one log; False once both are done."""
    logs = [
        log for log in (AUTHORED, RECEIVED) if stores.can_commit(log) or stores.undelivered(log, 1)
    ]
    if not logs:
        return False
    log = rng.choice(logs)
    for _ in range(rng.randint(0, 3)):
        if stores.can_commit(log):
            stores.commit(log)
    stores.deliver(projection, log, rng.randint(1, 4))
    return True


@pytest.mark.parametrize("seed", range(12))
def test_pulls_between_deliveries_add_up_to_one_pull_of_the_whole_day(
    seed: int, views_store: ViewStore
) -> None:
    rng = random.Random(seed)
    stores, projection = district_exchange(day_events(), views_store)
    reader: Reader = {}
    position = 0
    while _deliver_some(stores, projection, rng):
        if rng.random() < 0.4:
            position = _pull(projection, position, reader, rng.choice([1, 2, 1000]))
    position = _pull(projection, position, reader, 3)
    assert reader == _everything(projection)
    # Caught up: the next pull is empty and resumes from where it was.
    empty: Reader = {}
    assert _pull(projection, position, empty, 1000) == position
    assert empty == {}


def test_the_rows_do_not_depend_on_which_log_delivers_first(views_store: ViewStore) -> None:
    firsts = []
    for first in ((AUTHORED, RECEIVED), (RECEIVED, AUTHORED)):
        stores, projection = district_exchange(day_events(), views_store)
        stores.commit_all()
        for log in first:
            stores.deliver(projection, log, 1000)
        # Each run makes its own case ids: rows are compared by case number.
        firsts.append(
            {
                (table, row["case_number"], *key[1:]): {**row, "case_id": ""}
                for (table, key), row in _everything(projection).items()
            }
        )
    assert firsts[0] == firsts[1]
    assert len(firsts[0]) > 0


def test_a_redelivered_batch_changes_nothing(views_store: ViewStore) -> None:
    stores, projection = district_exchange(day_events(), views_store)
    stores.commit_all()
    batch = stores.undelivered(RECEIVED, 5)
    projection.process(RECEIVED, batch)
    head = projection.exchange.head()
    assert projection.process(RECEIVED, batch) == 0
    assert projection.exchange.head() == head


def test_a_subtree_pull_has_only_the_rows_its_nodes_wrote(views_store: ViewStore) -> None:
    stores, projection = district_exchange(day_events(), views_store)
    stores.commit_all()
    for log in (AUTHORED, RECEIVED):
        stores.deliver(projection, log, 1000)
    pull = Pull(projection.exchange, DISTRICT, since=0, division=STREET)
    departments = {c.row["department"] for p in pull.pages() for c in p.changes}
    assert departments == {STREET}


class _FailingTrails(HeldTrails):
    """Trails that fail on the `fail_at`th read: a crash in the middle of a batch."""

    def __init__(self, inner: HeldTrails, fail_at: int) -> None:
        self._inner = inner
        self._reads = 0
        self._fail_at = fail_at

    def after(self, case_id: UUID, version: int) -> list[CaseEvent]:
        self._reads += 1
        if self._reads == self._fail_at:
            raise OSError("the store went away mid-batch")
        return self._inner.after(case_id, version)


def test_a_batch_that_fails_midway_writes_nothing_and_its_redelivery_counts_once(
    views_store: ViewStore,
) -> None:
    events = day_events()
    stores, projection = district_exchange(events, views_store)
    stores.commit_all()
    stores.deliver(projection, AUTHORED, 1000)
    before = _everything(projection)
    head = projection.exchange.head()
    batch = stores.undelivered(RECEIVED, 1000)
    healthy = projection.trails
    projection.trails = _FailingTrails(healthy, fail_at=3)
    with pytest.raises(OSError, match="mid-batch"):
        projection.process(RECEIVED, batch)
    assert projection.exchange.position(RECEIVED) == 0
    assert projection.exchange.head() == head
    assert _everything(projection) == before
    projection.trails = healthy
    assert projection.process(RECEIVED, batch) == len(batch)
    # The same rows as a run that never failed.
    clean_stores, clean = district_exchange(events, views_store)
    clean_stores.commit_all()
    for log in (AUTHORED, RECEIVED):
        clean_stores.deliver(clean, log, 1000)
    got = {(t, r["case_number"], *k[1:]): r for (t, k), r in _everything(projection).items()}
    want = {(t, r["case_number"], *k[1:]): r for (t, k), r in _everything(clean).items()}
    assert {k: {**r, "case_id": ""} for k, r in got.items()} == {
        k: {**r, "case_id": ""} for k, r in want.items()
    }
