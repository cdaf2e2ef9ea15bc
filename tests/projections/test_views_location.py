"""A rebuild's views take the place of the live ones, in either store."""

from __future__ import annotations

import random
from pathlib import Path

from caseledger.projections.location import ViewsLocation
from tests.projections.histories import PROVINCE, START, case_mapper, simulate
from tests.projections.stores import NodeStores, ViewStore, expected_rows, view_rows

NETWORK = [PROVINCE, "370100000000", "370102000000"]


def test_views_rebuilt_beside_the_live_ones_take_their_place(
    tmp_path: Path, views_store: ViewStore
) -> None:
    events = simulate(random.Random(31), NETWORK, 6, START)
    stores = NodeStores(PROVINCE, events, case_mapper())
    stores.commit_all()
    live = ViewsLocation(*views_store.location(tmp_path))
    views = live.open()
    stores.deliver(stores.projection(views), "authored", 2)
    views.close()

    fresh = live.beside()
    assert fresh != live
    rebuilt = fresh.open()
    projection = stores.projection(rebuilt)
    stores.delivered = dict.fromkeys(stores.delivered, 0)  # from position 0
    for log in ("authored", "received"):
        stores.deliver(projection, log, 10_000)
    rebuilt.close()
    live.take_over(fresh)

    reopened = live.open()
    try:
        assert view_rows(reopened) == expected_rows(events)
    finally:
        reopened.close()
    emptied = fresh.open()
    try:
        assert emptied.all_rows() == []
    finally:
        emptied.close()
        fresh.remove()
