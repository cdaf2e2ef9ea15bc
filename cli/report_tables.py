"""How `caseledger report` shows what a node's ReportService answered: rich tables for
people, CSV rows for spreadsheets; the JSON is the answer itself (`output.message_dict`).

Every figure shown is the node's; the only arithmetic here is the check that a
level's rows add up to the subtree's figures, which the node promises.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence

import click
from rich.markup import escape
from rich.table import Table

from caseledger.cli.output import beijing_time
from caseledger.cli.vocabulary import (
    CASE_STATUSES,
    CONCLUSION_RESULTS,
    DEADLINE_STATUSES,
    SATISFACTIONS,
)
from caseledger.v1 import report_pb2

LEVELS = {
    report_pb2.LEVEL_PROVINCE: "省 province",
    report_pb2.LEVEL_CITY: "市 city",
    report_pb2.LEVEL_COUNTY: "县区 county",
    report_pb2.LEVEL_TOWNSHIP: "乡镇街道 township",
}
LEVEL_NAMES = {
    "province": report_pb2.LEVEL_PROVINCE,
    "city": report_pb2.LEVEL_CITY,
    "county": report_pb2.LEVEL_COUNTY,
    "township": report_pb2.LEVEL_TOWNSHIP,
}

ADDITIVE = (
    "submitted",
    "accepted",
    "refused",
    "concluded",
    "concluded_on_time",
    "concluded_late",
    "transferred",
    "withdrawn",
    "backlog",
    "overdue",
    "bad_ratings",
    "rectifications_open",
)
"""The counts a stats table shows; every one adds up across a level's rows."""

_CASE_COLUMNS = (
    "case_number",
    "item_name",
    "owner",
    "received_by",
    "status",
    "deadline",
    "working_days_used",
    "days_remaining",
    "steps_overdue",
    "submitted_at",
    "rating",
)
_FIGURE_COLUMNS = (*ADDITIVE, "on_time_rate", "average_working_days", "rectification_rate")


def _percent(figures: report_pb2.Figures, rate: str) -> str:
    return f"{getattr(figures, rate):.0%}" if figures.HasField(rate) else "-"  # type: ignore[arg-type]


def _days(figures: report_pb2.Figures) -> str:
    if not figures.HasField("average_working_days"):
        return "-"
    return f"{figures.average_working_days:.1f}"


def _case_cells(case: report_pb2.ReportedCase) -> dict[str, str]:
    deadline = case.deadline
    return {
        "case_number": case.case_number,
        "item_name": case.item_name,
        "owner": case.owner,
        "received_by": case.received_by,
        "status": CASE_STATUSES.label(case.status),
        "deadline": DEADLINE_STATUSES.label(deadline.status),
        "working_days_used": str(deadline.working_days_used) if deadline.promised_due else "",
        "days_remaining": str(deadline.days_remaining) if deadline.promised_due else "",
        "steps_overdue": " ".join(case.steps_overdue),
        "submitted_at": beijing_time(case.submitted_at),
        "rating": SATISFACTIONS.label(case.rating),
    }


def cases_table(title: str, cases: Sequence[report_pb2.ReportedCase]) -> Table:
    table = Table(title=title)
    for header in (
        "办件编号 number",
        "事项 item",
        "所有 owner",
        "收件 received by",
        "状态 status",
        "时限 deadline",
        "已用/剩余 days",
        "环节超期 steps overdue",
        "评价 rating",
    ):
        table.add_column(header)
    for case in cases:
        cells = _case_cells(case)
        days = (
            cells["working_days_used"] and f"{cells['working_days_used']}/{cells['days_remaining']}"
        )
        table.add_row(
            case.case_number,
            escape(case.item_name),
            case.owner,
            case.received_by,
            cells["status"],
            cells["deadline"],
            days or "-",
            cells["steps_overdue"] or "-",
            cells["rating"] or "-",
        )
    return table


def cases_csv(cases: Iterable[report_pb2.ReportedCase]) -> None:
    out = csv.writer(click.get_text_stream("stdout"))
    out.writerow(_CASE_COLUMNS)
    for case in cases:
        cells = _case_cells(case)
        out.writerow([cells[column] for column in _CASE_COLUMNS])


def figures_cells(figures: report_pb2.Figures) -> list[str]:
    return [
        *(str(getattr(figures, name)) for name in ADDITIVE),
        _percent(figures, "on_time_rate"),
        _days(figures),
        _percent(figures, "rectification_rate"),
    ]


_FIGURE_HEADERS = (
    "收件 submitted",
    "受理 accepted",
    "不予受理 refused",
    "办结 concluded",
    "按时 on time",
    "超期办结 late",
    "转报 transferred",
    "撤件 withdrawn",
    "在办 backlog",
    "超期 overdue",
    "差评 bad",
    "整改中 open",
    "按时办结率 on-time rate",
    "平均用时 avg days",
    "整改率 rectified",
)


def stats_table(
    title: str, rows: Sequence[report_pb2.StatisticsRow], total: report_pb2.Figures | None
) -> Table:
    table = Table(title=title)
    # Codes and levels are read whole; the figures' headers may wrap instead.
    table.add_column("区划 division", no_wrap=True, min_width=12)
    table.add_column("层级 level", no_wrap=True)
    if any(row.item_code for row in rows):
        table.add_column("事项 item")
    for header in _FIGURE_HEADERS:
        table.add_column(header, justify="right")
    per_item = any(row.item_code for row in rows)
    for row in rows:
        level = LEVELS.get(row.level, "")
        cells = [row.division, f"{level} (own)" if row.own else level]
        if per_item:
            cells.append(row.item_code)
        table.add_row(*cells, *figures_cells(row.figures))
    if total is not None:
        cells = ["合计 total", ""] + ([""] if per_item else [])
        table.add_row(*cells, *figures_cells(total), style="bold")
    return table


def stats_csv(rows: Iterable[tuple[str, report_pb2.StatisticsRow]]) -> None:
    out = csv.writer(click.get_text_stream("stdout"))
    out.writerow(["asked_level", "division", "level", "own", "item_code", *_FIGURE_COLUMNS])
    for asked, row in rows:
        f = row.figures
        out.writerow(
            [
                asked,
                row.division,
                report_pb2.Level.Name(row.level).removeprefix("LEVEL_").lower(),
                "yes" if row.own else "",
                row.item_code,
                *(str(getattr(f, name)) for name in ADDITIVE),
                *(
                    str(getattr(f, rate)) if f.HasField(rate) else ""
                    for rate in ("on_time_rate", "average_working_days", "rectification_rate")
                ),
            ]
        )


def differences(rows: Sequence[report_pb2.StatisticsRow], total: report_pb2.Figures) -> list[str]:
    """Each count whose rows do not add up to `total`, with both sums."""
    found = []
    for name in ADDITIVE:
        summed = sum(getattr(row.figures, name) for row in rows)
        if summed != getattr(total, name):
            found.append(f"{name}: rows {summed}, subtree {getattr(total, name)}")
    return found


def ratings_line(figures: report_pb2.Figures) -> str:
    """The period's ratings in one line: by satisfaction, default ones apart, 差评 and 整改."""

    def counted(counts: dict[str, int]) -> str:
        parts = [f"{SATISFACTIONS.label(int(code))} {n}" for code, n in sorted(counts.items()) if n]
        return " · ".join(parts) or "-"

    return (
        f"主动评价 active: {counted(dict(figures.ratings))}; "
        f"默认评价 default: {counted(dict(figures.default_ratings))}; "
        f"差评 bad {figures.bad_ratings}, 按时整改 rectified in time {figures.rectified_in_time}, "
        f"整改中 open {figures.rectifications_open}, 整改超期 overdue "
        f"{figures.rectifications_overdue}, 差评整改率 {_percent(figures, 'rectification_rate')}"
    )


def results_line(figures: report_pb2.Figures) -> str:
    parts = [
        f"{CONCLUSION_RESULTS.label(int(code))} {n}"
        for code, n in sorted(figures.concluded_by_result.items())
    ]
    return "办结结果 results: " + (" · ".join(parts) or "-")
