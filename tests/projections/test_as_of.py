"""As of: a closed period's figures are the same every time, however the views grew.

The history is projected twice: once with only the events up to the end of
the day asked about, and once with every event, including the ones after
it (conclusions, deliveries, ratings). Figures and supervision lists as of
that day must not move.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caseledger.ledger.case.events import CHINA_TIME
from caseledger.ledger.codes.division import Level
from caseledger.ledger.timelimits.calendar import WorkingCalendar
from caseledger.projections.reports import Reports
from caseledger.projections.statistics import Period
from tests.projections.histories import PROVINCE, START, case_mapper, random_network, simulate
from tests.projections.stores import ViewStore, project_all

MAPPER = case_mapper()
CALENDAR = WorkingCalendar()


def _flagged(reports: Reports, day: object) -> list[tuple[str, str, tuple[str, ...]]]:
    assert isinstance(day, type(START.date()))
    return [(s.facts.case_id, s.status.value, s.steps_overdue) for s in reports.overdue(day)]


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(seed=st.integers(0, 2**16), closes=st.integers(5, 50), length=st.integers(0, 30))
def test_a_closed_period_reads_the_same_before_and_after_later_events(
    views_store: ViewStore, seed: int, closes: int, length: int
) -> None:
    with views_store:
        rng = random.Random(seed)
        network = random_network(rng)
        events = simulate(rng, network, 20, START)
        as_of = START.date() + timedelta(days=closes)
        period = Period(as_of - timedelta(days=length), as_of)
        cut = datetime.combine(as_of + timedelta(days=1), time(0), CHINA_TIME)
        then = Reports(
            project_all(PROVINCE, [e for e in events if e.timestamp < cut], MAPPER, views_store),
            PROVINCE,
            CALENDAR,
        )
        now = Reports(
            project_all(PROVINCE, events, MAPPER, views_store),
            PROVINCE,
            CALENDAR,
        )

        assert now.stats(period, as_of) == then.stats(period, as_of)
        assert now.stats(period, as_of, level=Level.COUNTY) == then.stats(
            period, as_of, level=Level.COUNTY
        )
        assert _flagged(now, as_of) == _flagged(then, as_of)


def test_later_events_do_change_the_figures_of_a_later_day(views_store: ViewStore) -> None:
    # Without this, the property above could hold because nothing is ever counted.
    rng = random.Random(5)
    events = simulate(rng, random_network(rng), 20, START)
    as_of = START.date() + timedelta(days=10)
    cut = datetime.combine(as_of + timedelta(days=1), time(0), CHINA_TIME)
    then = Reports(
        project_all(PROVINCE, [e for e in events if e.timestamp < cut], MAPPER, views_store),
        PROVINCE,
        CALENDAR,
    )
    now = Reports(
        project_all(PROVINCE, events, MAPPER, views_store),
        PROVINCE,
        CALENDAR,
    )
    later = Period(START.date(), START.date() + timedelta(days=120))
    assert now.stats(later, later.last) != then.stats(later, later.last)
    assert then.stats(later, as_of)[0].figures.submitted > 0
