"""Per-level read models of a node: the `cases` view, statistics and supervision.

A node's `CaseProjection` follows its authored and received logs
(`Follower`) into `CaseViews` (SQLite or PostgreSQL); `Reports` answers questions about
them for a report service. docs/projections.md describes every view,
column, unit and threshold.
"""

from caseledger.projections.facts import CaseFacts, ClockStop
from caseledger.projections.follower import Follower
from caseledger.projections.projection import AUTHORED, RECEIVED, CaseProjection
from caseledger.projections.reports import CasePage, OutsideJurisdiction, Reports, StatsRow
from caseledger.projections.statistics import Figures, Period, Scope
from caseledger.projections.store import CaseFilter, CaseViews
from caseledger.projections.supervision import CaseDeadline, StepOverdue, SupervisionRules
from caseledger.projections.trails import HeldTrails

__all__ = [
    "AUTHORED",
    "RECEIVED",
    "CaseDeadline",
    "CaseFacts",
    "CaseFilter",
    "CasePage",
    "CaseProjection",
    "CaseViews",
    "ClockStop",
    "Figures",
    "Follower",
    "HeldTrails",
    "OutsideJurisdiction",
    "Period",
    "Reports",
    "Scope",
    "StatsRow",
    "StepOverdue",
    "SupervisionRules",
]
