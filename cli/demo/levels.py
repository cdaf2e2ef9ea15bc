"""The demo's per-level tables, each the answer of a node's ReportService.

After the day, every node's views have followed its logs; the demo asks
each node what it holds (`ListCases`), the province for the day's cases
and for the figures of every level of Shandong (`GetStatistics`), and
shows them as the nodes answered. It counts nothing itself except the
check that each level's rows add up to the province's figures.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from caseledger.cli.demo.day import DemoFailure
from caseledger.cli.demo.report import DemoNode, deadline_cell
from caseledger.cli.report_tables import LEVELS, differences, results_line, stats_table
from caseledger.cli.vocabulary import CASE_STATUSES, DEADLINE_STATUSES, SATISFACTIONS
from caseledger.v1 import report_pb2, report_pb2_grpc
from caseledger.v1 import types_pb2 as t

__all__ = [
    "Holdings",
    "cases_table",
    "holdings_of",
    "level_tables",
    "summary_table",
    "wait_for_views",
]

_OVERDUE = (t.DEADLINE_STATUS_YELLOW, t.DEADLINE_STATUS_RED)
_POLL = 0.1

Reports = Mapping[str, report_pb2_grpc.ReportServiceStub]


def wait_for_views(reports: Reports, timeout: float, patience: float) -> None:
    """Until every node's views have processed both its logs to their heads."""
    deadline = time.monotonic() + patience
    for code, stub in reports.items():
        while True:
            status = stub.GetProjectionStatus(
                report_pb2.GetProjectionStatusRequest(), timeout=timeout
            )
            if not status.following:
                raise DemoFailure(f"the views of node {code} stopped: {status.error}")
            if all(p.lag == 0 for p in status.positions):
                break
            if time.monotonic() > deadline:
                raise DemoFailure(f"gave up waiting for the views of node {code} to catch up")
            time.sleep(_POLL)


Holdings = dict[str, list[report_pb2.ReportedCase]]
"""Node code -> every case its views hold, as its ReportService lists them."""


def holdings_of(reports: Reports, timeout: float) -> Holdings:
    held: Holdings = {}
    for code, stub in reports.items():
        request = report_pb2.ListCasesRequest(page_size=1000)
        cases: list[report_pb2.ReportedCase] = []
        while True:
            answer = stub.ListCases(request, timeout=timeout)
            cases += answer.cases
            if not answer.next_page_token:
                break
            request.page_token = answer.next_page_token
        held[code] = cases
    return held


def _counted(labels: Iterable[str]) -> str:
    counts = Counter(labels)
    return " · ".join(f"{label} {n}" for label, n in sorted(counts.items())) or "-"


def summary_table(nodes: Sequence[DemoNode], held: Holdings) -> Table:
    """One row per node, province first: what it owns, its deadlines and ratings, what it
    holds, each as the node's own views answer."""
    table = Table(title="各级汇总 per-level summary (each node's own answer)")
    for header in ("层级 level", "节点 node", "办件 owned", "状态 status", "黄/红牌 overdue"):
        table.add_column(header, justify="right" if header.startswith("办件") else "left")
    for header in ("预警 warning", "评价 ratings", "差评 bad / 整改中 open", "持有 held"):
        table.add_column(header, justify="left")
    for node in sorted(nodes, key=lambda n: len(n.prefix)):
        cases = held[node.code]
        owned = [case for case in cases if case.owner == node.code]
        overdue = [case for case in owned if case.deadline.status in _OVERDUE]
        bad = [case for case in owned if case.rating_bad]
        still_open = [case for case in bad if not case.HasField("rectified_at")]
        table.add_row(
            node.level,
            escape(f"{node.name} {node.code}"),
            str(len(owned)),
            _counted(CASE_STATUSES.label(case.status) for case in owned),
            _counted(DEADLINE_STATUSES.label(case.deadline.status) for case in overdue),
            str(sum(case.deadline.status == t.DEADLINE_STATUS_WARNING for case in owned)),
            _counted(SATISFACTIONS.label(case.rating) for case in owned if case.rating),
            f"{len(bad)} / {len(still_open)}",
            f"{len(cases)} ({len(owned)} own + {len(cases) - len(owned)} replicated)",
        )
    return table


def cases_table(
    stories: Mapping[str, str], names: Mapping[str, str], cases: Sequence[report_pb2.ReportedCase]
) -> Table:
    """The day's cases as the province's views hold them; `stories` says what each shows."""
    table = Table(title="今日办件 the day's cases, as the province holds them")
    for header in (
        "办件编号 number",
        "事项 item",
        "经办 handled by",
        "状态 status",
        "时限 deadline",
    ):
        table.add_column(header)
    table.add_column("what it shows")
    by_number = {case.case_number: case for case in cases}
    for number, story in stories.items():
        case = by_number.get(number)
        if case is None:
            raise DemoFailure(f"the province's views do not hold case {number}")
        owners = list(case.owners) or [case.owner]
        if owners[-1] != case.owner:
            owners.append(case.owner)  # sent back down to a former owner
        table.add_row(
            number,
            escape(case.item_name),
            escape(" → ".join(names.get(owner, owner) for owner in owners)),
            CASE_STATUSES.label(case.status),
            deadline_cell(case.deadline),
            escape(story),
        )
    return table


def level_tables(
    out: Console, province: report_pb2_grpc.ReportServiceStub, first_day: str, timeout: float
) -> bool:
    """The province's figures for every level from `first_day` to today, one table per
    level with its total; True when every level's rows add up to the province's."""
    period = report_pb2.GetStatisticsRequest(first_day=first_day)
    whole = province.GetStatistics(period, timeout=timeout)
    adds_up = True
    for level in LEVELS:
        asked = report_pb2.GetStatisticsRequest(first_day=first_day, level=level)
        answer = province.GetStatistics(asked, timeout=timeout)
        title = f"{LEVELS[level]} 各级统计 figures, {whole.first_day} – {whole.last_day}"
        out.print(stats_table(title, answer.rows, answer.total))
        wrong = differences(answer.rows, whole.total)
        adds_up = adds_up and not wrong
        if wrong:
            out.print(f"[red]✗ {LEVELS[level]} rows do not add up: {'; '.join(wrong)}[/red]")
        else:
            out.print(f"✓ {LEVELS[level]}: {len(answer.rows)} rows add up to the province's")
    out.print(results_line(whole.total))
    return adds_up
