"""A small fixed day of Lixia district (历下区) and Jiefanglu street (解放路街道),
as the district's node holds it, for the exchange tests.

Four cases begin on Monday 2 March 2026, an hour apart from 09:00 Beijing
time, each along a path of `tests/projections/histories.py`:

- A, at the street: online, pre-review, a correction, a site check (实地核查),
  approved, licence mailed and signed for, rated 不满意 and rectified;
- B, at the street: accepted, suspended and resumed, extended, one step;
- C, at the district: refused (不予受理);
- D, at the street: reported up to the district (转报), decided and issued
  there, sent back down (下发) and collected at the street's window.

The district authored C and D's middle; everything the street wrote reached
it as received events, so its exchange is built from both of its logs.
"""

from __future__ import annotations

import random
from datetime import timedelta

from caseledger.ledger.case.events import CaseEvent
from caseledger.ledger.timelimits.calendar import WorkingCalendar
from caseledger.projections import HeldTrails
from caseledger.projections.exchange import ExchangeProjection, ExchangeViews
from tests.projections.histories import START, case_mapper, simulate_case
from tests.projections.stores import NodeStores, ViewStore

DISTRICT = "370102000000"
STREET = "370102001000"

PATHS = (
    ("A", STREET, "online_corrected_bad_rating"),
    ("B", STREET, "suspended_extended_open"),
    ("C", DISTRICT, "refused"),
    ("D", STREET, "reported_up_and_back"),
)


def day_events() -> list[CaseEvent]:
    """Every event of the day's four cases, in time order."""
    events: list[CaseEvent] = []
    for serial, (_, receiver, path) in enumerate(PATHS, start=1):
        begins = START + timedelta(hours=serial - 1)
        events += simulate_case(random.Random(0), [receiver], begins, serial, path)
    return sorted(events, key=lambda e: (e.timestamp, e.originator_version))


def number(case: str) -> str:
    """The case number of case A, B, C or D (receiver, date, serial)."""
    serial = "ABCD".index(case) + 1
    receiver = {name: node for name, node, _ in PATHS}[case]
    return f"{receiver}20260302{serial:06d}"


def district_exchange(
    events: list[CaseEvent], store: ViewStore
) -> tuple[NodeStores, ExchangeProjection]:
    """The district's two stores (nothing committed yet) and its exchange, in
    fresh views of `store` (SQLite in memory, or a PostgreSQL schema)."""
    mapper = case_mapper()
    stores = NodeStores(DISTRICT, events, mapper)
    views = ExchangeViews(store.fresh())
    trails = HeldTrails([stores.authored, stores.received], mapper)
    return stores, ExchangeProjection(views, trails, mapper, WorkingCalendar())
