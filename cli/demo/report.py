"""What the demo shows after the day: the nodes it ran, and one case's audit across nodes.

Every trail is read back from the nodes over gRPC (`ListCaseEvents`), never
from what the demo sent, and verified here with `trail.verify_trail`,
trusting no node. The per-level tables are the nodes' own reports (`levels`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from caseledger.cli.audit.trail import TrailReport, verify_trail
from caseledger.cli.demo.day import Day, DayCase
from caseledger.cli.output import beijing_time
from caseledger.cli.vocabulary import DEADLINE_STATUSES, stage_label
from caseledger.v1 import ledger_pb2
from caseledger.v1 import types_pb2 as t

_LEVELS = {2: "省 province", 4: "市 city", 6: "县区 county", 9: "乡镇街道 township"}
_SHORT_HASH = 12


@dataclass(frozen=True)
class DemoNode:
    """A node as the supervisor announced it: `LISTENING <code> <address> <name>`."""

    code: str
    address: str
    name: str

    @property
    def prefix(self) -> str:
        """The jurisdiction prefix (`37`, `3701`, `370102`, `370102001`)."""
        for width in (2, 4, 6):
            if set(self.code[width:]) == {"0"}:
                return self.code[:width]
        return self.code[:9]

    @property
    def level(self) -> str:
        return _LEVELS.get(len(self.prefix), "")

    def holds(self, case: DayCase) -> bool:
        """Every owner of a case, and every ancestor of one, ends up holding its trail."""
        return any(owner.startswith(self.prefix) for owner in case.owners)

    def __str__(self) -> str:
        return f"{self.name} {self.code}"


_CONCLUDED = (t.DEADLINE_STATUS_CONCLUDED_ON_TIME, t.DEADLINE_STATUS_CONCLUDED_LATE)


def deadline_cell(deadline: ledger_pb2.Deadline) -> str:
    """`红牌: 已用 30 工作日 used, 超期 5 over`: the status, and what its count of working
    days is (used so far, and left or over the promised limit while the clock runs)."""
    label = DEADLINE_STATUSES.label(deadline.status) or "-"
    if deadline.status == t.DEADLINE_STATUS_NOT_STARTED or not deadline.promised_due:
        return f"{label} not started"
    used = f"已用 {deadline.working_days_used} 工作日 used"
    if deadline.status in _CONCLUDED:
        return f"{label}: {used}"
    left = deadline.days_remaining
    rest = f"剩余 {left} left" if left >= 0 else f"超期 {-left} over"
    return f"{label}: {used}, {rest}"


def audit_across_nodes(out: Console, day: Day, number: str, nodes: Sequence[DemoNode]) -> bool:
    """Replay one case's trail at each node, verify each copy here, show the timeline
    once; True if every copy verifies and all end at the same hash."""
    reports: list[tuple[DemoNode, TrailReport]] = []
    for node in nodes:
        response = day.call(
            node.code,
            "ListCaseEvents",
            ledger_pb2.ListCaseEventsRequest(case=number),
            "audit replay",
        )
        reports.append((node, verify_trail(response, number)))
    names = {node.code: node.name for node in nodes}
    out.print(_timeline(reports[0][1], names))
    for node, report in reports:
        out.print(escape(_verdict(node, report)))
    last = {report.last_hash for _, report in reports}
    agree = len(last) == 1
    if agree:
        out.print(f"all {len(reports)} copies end at the same hash {next(iter(last))[:16]}…")
    else:
        out.print("[red]✗ the copies end at different hashes[/red]")
    return agree and all(report.verified for _, report in reports)


def _timeline(report: TrailReport, names: Mapping[str, str]) -> Table:
    table = Table(title=f"审计回放 audit replay of case {escape(report.case_number)}")
    for header in ("#", "环节 stage", "node", "operator", "time (UTC+8)", "days used", "hash"):
        table.add_column(header, justify="right" if header in ("#", "days used") else "left")
    for check in report.checks:
        event = check.event
        table.add_row(
            str(check.position),
            escape(stage_label(event.stage)),
            escape(names.get(event.node, event.node)),
            escape(f"{event.operator.id}/{event.operator.role}"),
            beijing_time(event.occurred_at),
            str(event.working_days_used),
            event.hash[:_SHORT_HASH],
        )
    return table


def _verdict(node: DemoNode, report: TrailReport) -> str:
    if report.verified:
        return f"✓ verified at {node}: {len(report.checks)} events, every hash and link checked"
    position, reason = report.first_break or (None, "unknown")
    where = "the trail" if position is None else f"event {position}"
    return f"✗ NOT verified at {node}: {where}: {reason}"


def verify_everything_at(day: Day, node: DemoNode) -> list[str]:
    """Verify every trail of the day at one node; the problems found, if any."""
    problems = []
    for number in day.cases:
        response = day.call(
            node.code,
            "ListCaseEvents",
            ledger_pb2.ListCaseEventsRequest(case=number),
            "audit replay",
        )
        report = verify_trail(response, number)
        if not report.verified:
            position, reason = report.first_break or (None, "unknown")
            problems.append(f"case {number} at {node}: event {position}: {reason}")
    return problems
