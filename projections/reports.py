"""The query side of a node's views, shaped for a report service to call.

`Reports` answers for one node and only for its subtree (a division it
does not contain is refused with `OutsideJurisdiction`). Every read that
depends on time takes an `as_of` day; nothing it returns was stored
evaluated, so a deadline state is never stale.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date

from caseledger.ledger.codes.division import DivisionCode, Level
from caseledger.ledger.timelimits.calendar import WorkingCalendar
from caseledger.ledger.timelimits.deadlines import DeadlineStatus
from caseledger.projections.day_index import IndexedCalendar
from caseledger.projections.facts import CaseFacts
from caseledger.projections.statistics import Figures, Period, Scope, node_figures
from caseledger.projections.store import CaseFilter, CaseViews
from caseledger.projections.supervision import (
    CaseDeadline,
    SupervisionRules,
    case_deadline,
    happened_by,
)

__all__ = ["CasePage", "OutsideJurisdiction", "Reports", "StatsRow"]


class OutsideJurisdiction(ValueError):
    """A division outside the node's subtree was asked about."""

    def __init__(self, node: str, asked: str) -> None:
        super().__init__(f"{asked} is not in the subtree of {node}")
        self.node = node
        self.asked = asked


@dataclass(frozen=True)
class CasePage:
    """One page of cases, each with its deadline state on the day asked."""

    cases: list[CaseDeadline]
    next_page_token: str
    """Empty on the last page; otherwise pass it back for the next."""


@dataclass(frozen=True)
class StatsRow:
    """Figures of one division's subtree at the level asked, or of one node alone.

    `own` rows hold what a node above the level asked did itself (a city's
    own cases when counties are asked for), so the rows add up to the whole.
    """

    division: str
    own: bool
    figures: Figures = field(repr=False)


def _attributed(f: CaseFacts, as_of: date) -> set[str]:
    """Every node a figure of this case can be attributed to by `as_of`: a node
    that acts only later must not change what an earlier day reads."""
    acts = (
        (f.received_by, f.submitted_at),
        (f.accepted_by, f.accepted_at or f.refused_at),
        (f.concluded_by, f.concluded_at),
        (f.withdrawn_by, f.withdrawn_at),
        (f.rated_by, f.rated_at),
        *((source, at) for source, _, _, at in f.transfers),
    )
    return {node for node, at in acts if node and happened_by(at, as_of)}


class Reports:
    """Cases, statistics and supervision lists of one node's views."""

    def __init__(
        self,
        views: CaseViews,
        node: str,
        calendar: WorkingCalendar,
        rules: SupervisionRules | None = None,
    ) -> None:
        self._views = views
        self._node = DivisionCode.parse(node)
        # Every read evaluates every case's deadline: counted by lookup, not day by day.
        self._calendar = IndexedCalendar(calendar)
        self._rules = rules or SupervisionRules()

    def _subtree(self, division: str) -> str:
        """The prefix of `division` (the node itself when empty), checked to be ours."""
        if not division:
            return self._node.prefix
        asked = DivisionCode.parse(division, "division")
        if not self._node.contains(asked):
            raise OutsideJurisdiction(str(self._node), division)
        return asked.prefix

    def cases(
        self,
        where: CaseFilter | None = None,
        *,
        as_of: date,
        deadline: DeadlineStatus | None = None,
        page_size: int = 100,
        page_token: str = "",
        owner: str = "",
        channel: str = "",
    ) -> CasePage:
        """Held cases matching `where` (its `subtree` a division code of the
        subtree), by case id, each with its deadline state on `as_of`;
        `deadline` keeps only cases in that state, `owner` only the cases that
        node owns now, `channel` only those submitted through it (its code)."""
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        f = where or CaseFilter()
        f = replace(f, subtree=self._subtree(f.subtree))
        found: list[CaseDeadline] = []
        after = page_token
        while len(found) < page_size:
            batch = self._views.rows(f, limit=page_size, after_case=after)
            for facts in batch:
                state = case_deadline(facts, as_of, self._calendar, self._rules)
                after = facts.case_id
                if (
                    (deadline is None or state.status is deadline)
                    and (not owner or facts.owner == owner)
                    and (not channel or facts.channel == channel)
                ):
                    found.append(state)
                    if len(found) == page_size:
                        break
            if len(batch) < page_size:
                return CasePage(found, "" if len(found) < page_size else after)
        return CasePage(found, after)

    @property
    def node(self) -> str:
        return str(self._node)

    def item_codes(self, division: str = "") -> list[str]:
        """The items of the cases held in the subtree of `division`, in order."""
        return self._views.item_codes(CaseFilter(subtree=self._subtree(division)))

    def ratings(
        self, period: Period, as_of: date, division: str = "", *, bad_only: bool = False
    ) -> list[CaseDeadline]:
        """好差评: cases rated in `period` (by `as_of`) at a node of the subtree of
        `division`, by the time rated, each with its rectification state on `as_of`."""
        prefix = self._subtree(division)
        rated = [
            case_deadline(facts, as_of, self._calendar, self._rules)
            # Every row: a case rated here may have been handed on out of the subtree.
            for facts in self._views.rows()
            if facts.rated_by.startswith(prefix)
            and period.holds(facts.rated_at, as_of)
            and (facts.rating_bad or not bad_only)
        ]
        return sorted(rated, key=lambda s: (s.facts.rated_at, s.facts.case_id))

    def overdue(self, as_of: date, division: str = "") -> list[CaseDeadline]:
        """Supervision (电子监察): every case flagged on `as_of` — 预警, 黄牌,
        红牌, or a step overdue — red first, then by case number."""
        where = CaseFilter(subtree=self._subtree(division))
        flagged = [
            state
            for facts in self._views.rows(where)
            if (state := case_deadline(facts, as_of, self._calendar, self._rules)).flagged
        ]
        order = {DeadlineStatus.RED: 0, DeadlineStatus.YELLOW: 1, DeadlineStatus.WARNING: 2}
        return sorted(flagged, key=lambda s: (order.get(s.status, 3), s.facts.number))

    def stats(
        self,
        period: Period,
        as_of: date,
        *,
        division: str = "",
        level: Level | None = None,
        item_code: str = "",
    ) -> list[StatsRow]:
        """Figures for `period` as of `as_of`: one row for the subtree of
        `division` (the node by default), or, with `level`, one row per
        division of that level in it plus an `own` row per node above the
        level that has figures of its own. The rows add up to the subtree's."""
        prefix = self._subtree(division)
        rows = self._views.rows(CaseFilter(item_code=item_code))
        scope = Scope(period, as_of, self._calendar, self._rules)
        if level is None:
            total = node_figures(rows, lambda code: code.startswith(prefix), scope)
            return [StatsRow(DivisionCode.from_prefix(prefix).code, False, total)]
        groups = _groups(rows, prefix, level, scope.end)
        return [
            StatsRow(key, own, node_figures(rows, belongs, scope))
            for (key, own), belongs in sorted(groups.items())
        ]


def _groups(
    rows: Iterable[CaseFacts], prefix: str, level: Level, as_of: date
) -> dict[tuple[str, bool], Callable[[str], bool]]:
    """The division of `level` (or the node itself, above it) each attributed node counts in."""
    width = level.prefix_length
    groups: dict[tuple[str, bool], Callable[[str], bool]] = {}
    for facts in rows:
        for code in _attributed(facts, as_of):
            if not code.startswith(prefix) or (key := _group_of(code, width)) in groups:
                continue
            division, own = key
            groups[key] = _Member(division if own else division[:width], width, exact=own)
    return groups


@dataclass(frozen=True)
class _Member:
    """Whether a node counts in a group: the node itself, or the subtree at a level."""

    prefix: str
    width: int
    exact: bool

    def __call__(self, code: str) -> bool:
        if self.exact:
            return code == self.prefix
        return code.startswith(self.prefix) and _width(code) >= self.width


@functools.cache
def _width(code: str) -> int:
    """The prefix length of a node's level (asked for every figure of every case)."""
    return DivisionCode(code).level.prefix_length


def _group_of(code: str, width: int) -> tuple[str, bool]:
    if _width(code) >= width:
        return code[:width].ljust(12, "0"), False
    return code, True
