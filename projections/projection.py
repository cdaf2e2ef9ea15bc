"""The `cases` projection: a node's authored and received events into its views.

Two logs feed one view, each with its own tracked position, and neither
waits for the other. The result must not depend on which delivers first,
so each case's row is guarded by version:

- a version at or below the row's was already folded: nothing changes;
- the next version is folded onto the row;
- a later one means versions in between are missing from the row: the
  case is refolded from its trail as the node's stores hold it
  (`HeldTrails`), up to the first version neither store holds yet;
- after folding, if a log already delivered a later version (`seen`), the
  row catches up from the trail too, since that later version's
  notification has been processed and will not come again.

Once both logs are processed to their ends, every row is the fold of its
case's whole held trail, whatever the interleaving. Each batch is one
transaction with its upstream's position (`CaseViews.batch`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, Notification, Tracking
from eventsourcing.projection import Projection

from caseledger.ledger import names
from caseledger.ledger.case.events import CaseEvent
from caseledger.projections.facts import CaseFacts, fold
from caseledger.projections.store import CaseRow, CaseViews, ViewBatch
from caseledger.projections.trails import HeldTrails

__all__ = ["AUTHORED", "RECEIVED", "CaseProjection"]

AUTHORED = "authored"
"""The upstream name of the node's own log."""
RECEIVED = "received"
"""The upstream name of the node's received-events store."""


class CaseProjection(Projection[CaseViews]):
    """Folds case events into `cases`; other events only move the position."""

    name = "cases"

    def __init__(self, view: CaseViews, trails: HeldTrails, mapper: Mapper[UUID]) -> None:
        super().__init__(view)
        self.trails = trails
        self._mapper = mapper

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """One decoded event and its position (the library's runner calls this)."""
        with self.view.batch(tracking.application_name, tracking.notification_id) as batch:
            if isinstance(domain_event, CaseEvent):
                self._apply(batch, domain_event)

    def process(self, upstream: str, notifications: Sequence[Notification]) -> int:
        """A batch of `upstream`'s log in order, in one transaction; returns how
        many notifications were past the recorded position (the rest are
        redelivered and skipped)."""
        tracked = self.view.position(upstream)
        fresh = [n for n in notifications if n.id > tracked]
        if not fresh:
            return 0
        with self.view.batch(upstream, fresh[-1].id) as batch:
            for notification in fresh:
                if names.is_case_event(notification.topic):
                    event = self._mapper.to_domain_event(notification)
                    assert isinstance(event, CaseEvent)
                    self._apply(batch, event)
        return len(fresh)

    def _apply(self, batch: ViewBatch, event: CaseEvent) -> None:
        case_id = str(event.originator_id)
        row = batch.row(case_id) or CaseRow(CaseFacts(case_id), 0)
        version = event.originator_version
        facts = row.facts
        seen = max(row.seen, version)
        if version <= facts.version:
            return
        if version == facts.version + 1:
            facts = fold(facts, event)
        if seen > facts.version:
            for held in self.trails.after(event.originator_id, facts.version):
                facts = fold(facts, held)
        batch.put(CaseRow(facts, seen))
