"""Rollups add up: a division's figures are its own plus its children's.

Over random networks and random histories, at the province that holds
every case: each city's figures equal the sum of its counties' plus its
own, each county's the sum of its townships' plus its own, and the rows of
one level add up to the province's.
"""

from __future__ import annotations

import random
from datetime import timedelta
from functools import reduce

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caseledger.ledger.codes.division import DivisionCode, Level
from caseledger.ledger.timelimits.calendar import WorkingCalendar
from caseledger.projections.reports import Reports
from caseledger.projections.statistics import Figures, Period, Scope, node_figures
from caseledger.projections.supervision import SupervisionRules
from tests.projections.histories import PROVINCE, START, case_mapper, random_network, simulate
from tests.projections.stores import ViewStore, project_all

MAPPER = case_mapper()
CALENDAR = WorkingCalendar()


def _total(figures: list[Figures]) -> Figures:
    return reduce(lambda a, b: a + b, figures, Figures())


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    seed=st.integers(0, 2**16),
    first=st.integers(0, 40),
    length=st.integers(0, 60),
    as_of_after=st.integers(0, 80),
)
def test_a_division_equals_the_sum_of_its_children_plus_its_own(
    views_store: ViewStore, seed: int, first: int, length: int, as_of_after: int
) -> None:
    with views_store:
        rng = random.Random(seed)
        network = random_network(rng)
        views = project_all(PROVINCE, simulate(rng, network, 25, START), MAPPER, views_store)
        reports = Reports(views, PROVINCE, CALENDAR)
        start = START.date() + timedelta(days=first)
        period = Period(start, start + timedelta(days=length))
        as_of = start + timedelta(days=as_of_after)
        rows = views.rows()
        scope = Scope(period, as_of, CALENDAR, SupervisionRules())

        def subtree(code: str) -> Figures:
            return reports.stats(period, as_of, division=code)[0].figures

        def own(code: str) -> Figures:
            return node_figures(rows, lambda c: c == code, scope)

        for code in network:
            children = [
                c for c in network if DivisionCode.parse(c).parent == DivisionCode.parse(code)
            ]
            assert subtree(code) == _total([subtree(c) for c in children]) + own(code), code

        for level in (Level.CITY, Level.COUNTY, Level.TOWNSHIP):
            by_level = reports.stats(period, as_of, level=level)
            assert _total([row.figures for row in by_level]) == subtree(PROVINCE)


def test_the_histories_rolled_up_have_figures_at_every_level(views_store: ViewStore) -> None:
    # The rollup property would hold trivially over empty figures.
    rng = random.Random(3)
    network = random_network(rng)
    views = project_all(PROVINCE, simulate(rng, network, 40, START), MAPPER, views_store)
    reports = Reports(views, PROVINCE, CALENDAR)
    period = Period(START.date(), START.date() + timedelta(days=120))
    rows = reports.stats(period, period.last, level=Level.COUNTY)
    assert sum(not row.own for row in rows) >= 2
    whole = _total([row.figures for row in rows])
    assert whole.submitted == 40
    assert whole.accepted > 0
    assert whole.concluded > 0
    assert whole.transferred > 0
    assert whole.bad_ratings > 0
    assert sum(whole.ratings.values()) > 0
