"""The exchange projection: a node's two logs into the stage tables.

Each batch of an upstream's notifications is one transaction. For each case
its events touch, the events the node's stores hold after the last one read
(`HeldTrails`, up to the first version neither store holds yet) are read on
from the case's state (`CaseRows`, kept in `exchange_cases`), and only the
rows they changed are written, under the batch's number, with the
upstream's position and the case's new state. An event is read once, by
whichever log's notification comes first; once both logs are processed
every case's rows are those of its whole held trail, whatever the
interleaving, and a redelivered batch (at or below the recorded position)
changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, Notification, Tracking

from caseledger.ledger import names
from caseledger.ledger.case.events import CaseEvent
from caseledger.ledger.timelimits.calendar import WorkingCalendar
from caseledger.projections.exchange.store import ExchangeBatch, ExchangeViews
from caseledger.projections.projection import CaseProjection
from caseledger.projections.trails import HeldTrails

__all__ = ["ExchangeProjection"]


class ExchangeProjection(CaseProjection):
    """Writes the stage rows of every case an event touches.

    A `CaseProjection` by type only, so the node's `Follower` runs it: it
    folds nothing into `cases`."""

    name = "exchange"

    def __init__(
        self,
        exchange: ExchangeViews,
        trails: HeldTrails,
        mapper: Mapper[UUID],
        calendar: WorkingCalendar,
    ) -> None:
        super().__init__(exchange.views, trails, mapper)
        self.exchange = exchange
        self._calendar = calendar

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        with self.exchange.batch(tracking.application_name, tracking.notification_id) as batch:
            if isinstance(domain_event, CaseEvent):
                self._write(batch, [domain_event.originator_id])

    def process(self, upstream: str, notifications: Sequence[Notification]) -> int:
        tracked = self.exchange.position(upstream)
        fresh = [n for n in notifications if n.id > tracked]
        if not fresh:
            return 0
        touched = list(
            dict.fromkeys(UUID(str(n.originator_id)) for n in fresh if names.is_case_event(n.topic))
        )
        with self.exchange.batch(upstream, fresh[-1].id) as batch:
            self._write(batch, touched)
        return len(fresh)

    def _write(self, batch: ExchangeBatch, cases: Sequence[UUID]) -> None:
        for case_id in cases:
            case = batch.case(str(case_id), self._calendar)
            # The events held after those already read, up to the first version
            # neither store holds yet (it comes with its own notification).
            events = self.trails.after(case_id, case.version)
            if not events:
                continue
            before = case.snapshot()
            for event in events:
                case.read(event)
            batch.write_case(str(case_id), case, before)
