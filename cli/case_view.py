"""A case as `caseledger case show` prints it: the panel, the record, the JSON."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from caseledger.cli.case_record import Entry, rectification_text
from caseledger.cli.output import beijing_time, message_dict
from caseledger.cli.vocabulary import (
    CASE_STATUSES,
    CASE_TYPES,
    CONCLUSION_RESULTS,
    DEADLINE_STATUSES,
    SATISFACTIONS,
    SUBMISSION_CHANNELS,
)
from caseledger.v1 import ledger_pb2 as pb


def case_panel(view: pb.CaseView, entries: list[Entry], required: list[str] | None = None) -> Panel:
    """A case as an operator reads it: where it stands, how its deadline looks,
    and the facts its trail records that decide what comes next."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    deadline = view.deadline
    facts = _Facts(entries)
    rows = (
        ("办件编号 number", view.case_number),
        ("id", view.case_id),
        ("状态 status", CASE_STATUSES.label(view.status)),
        ("归属 owner", _owner_text(view)),
        ("事项 item", f"{view.item_code} {view.item_name}"),
        ("渠道 channel", SUBMISSION_CHANNELS.label(view.channel)),
        ("申请人 applicant", view.applicant_name),
        ("材料 materials", facts.materials_text(required)),
        ("办件类型 case type", CASE_TYPES.label(view.case_type)),
        ("时限 deadline", deadline_text(deadline)),
        ("承诺 promised due", _due_text(deadline, deadline.promised_due)),
        ("法定 statutory due", _due_text(deadline, deadline.statutory_due)),
        ("结果 result", _result_text(view, facts)),
        ("证照 licence", view.licence_id or "-"),
        ("送达 delivery", _delivery_text(view, facts)),
        ("评价 rating", SATISFACTIONS.label(view.satisfaction) or "-"),
        ("整改 rectification", rectification_text(entries, view.rectification_open)),
        ("收件 submitted", beijing_time(view.submitted_at)),
        ("更新 updated", beijing_time(view.updated_at)),
        ("version", f"{view.version}  last hash {view.last_hash[:16]}…"),
    )
    for label, value in rows:
        grid.add_row(label, escape(value))
    title = f"{view.case_number}  {CASE_STATUSES.label(view.status)}"
    return Panel(grid, title=escape(title), title_align="left", expand=False)


def record_table(entries: list[Entry]) -> Table:
    """Every event of the trail with what it recorded, oldest first."""
    table = Table(title="记录 record: every fact the trail holds (personal data sealed)")
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("stage", overflow="fold")
    table.add_column("time (UTC+8)", overflow="fold", max_width=10)
    table.add_column("node", overflow="fold", no_wrap=True)
    table.add_column("operator", overflow="fold", max_width=16)
    # Folded, never cut short with an ellipsis: a licence id or a decision
    # number must be readable whole on a narrow terminal; this column gets the room.
    table.add_column("recorded", overflow="fold", ratio=1, min_width=40)
    for entry in entries:
        table.add_row(
            str(entry.version),
            escape(entry.label),
            entry.at,
            escape(entry.node),
            escape(entry.operator),
            escape(entry.what),
        )
    return table


def case_document(
    view: pb.CaseView, entries: list[Entry], missing: str, required: list[str] | None = None
) -> dict[str, Any]:
    """`case show --json`: the case view, then every event with its content."""
    document = message_dict(view)
    facts = _Facts(entries)
    document["materials"] = facts.materials()
    if required is not None:
        document["materials_missing"] = facts.missing(required)
    document["rectification"] = rectification_text(entries, view.rectification_open)
    document["record"] = [
        {
            "version": entry.version,
            "stage": entry.stage,
            "stage_label": entry.label,
            "occurred_at": entry.at,
            "node": entry.node,
            "operator": entry.operator,
            "content": entry.content,
        }
        for entry in entries
    ]
    if missing:
        document["record_missing"] = missing
    return document


class _Facts:
    """The latest fact of each kind, read from the record."""

    def __init__(self, entries: list[Entry]) -> None:
        self._entries = entries

    def last(self, stage: str) -> Entry | None:
        return next((e for e in reversed(self._entries) if e.stage == stage), None)

    def materials(self) -> list[str]:
        """The names of every material received, submitted or supplied in correction."""
        names = [
            str(material.get("name"))
            for entry in self._entries
            if entry.stage in ("Submitted", "MaterialsSupplemented")
            for material in entry.content.get("materials") or []
        ]
        return list(dict.fromkeys(names))

    def missing(self, required: list[str]) -> list[str]:
        """The item's required materials (by name) not among those received."""
        have = {name.strip() for name in self.materials()}
        return [name for name in required if name.strip() not in have]

    def materials_text(self, required: list[str] | None) -> str:
        text = "; ".join(self.materials()) or "-"
        if required is None or not self._entries:
            return text
        missing = self.missing(required)
        if not missing:
            return f"{text}  (齐全 complete)"
        return f"{text}  (缺 missing: {'; '.join(missing)})"


def _owner_text(view: pb.CaseView) -> str:
    if view.transfer_to:
        return f"{view.owner} (handing over to {view.transfer_to})"
    return view.owner


def _result_text(view: pb.CaseView, facts: _Facts) -> str:
    result = CONCLUSION_RESULTS.label(view.result) or "-"
    concluded = facts.last("Concluded")
    if concluded is not None and concluded.content.get("decision_no"):
        result += f"  decision no. {concluded.content['decision_no']}"
    return result


def _delivery_text(view: pb.CaseView, facts: _Facts) -> str:
    mailed = facts.last("DispatchedByMail")
    parts = [view.delivery or "-"]
    if mailed is not None:
        parts.append(
            f"by mail: {mailed.content.get('carrier')} "
            f"tracking no. {mailed.content.get('tracking_no')}"
        )
    confirmed = facts.last("DeliveryConfirmed")
    if confirmed is not None:
        parts.append(f"received on {confirmed.content.get('received_on')}")
    if facts.last("CollectedAtWindow") is not None:
        parts.append("collected at the window")
    return ", ".join(parts)


def deadline_text(deadline: pb.Deadline) -> str:
    parts = [DEADLINE_STATUSES.label(deadline.status) or "-"]
    parts.append(f"{deadline.working_days_used} working days used")
    if deadline.promised_due:
        parts.append(f"{deadline.days_remaining} remaining")
    if deadline.clock_stopped:
        parts.append("clock stopped")
    if deadline.extended_by:
        parts.append(f"extended by {deadline.extended_by}")
    if deadline.provisional:
        parts.append(
            f"暂定 provisional: {deadline.provisional_year} counted with the statutory "
            "holidays by rule, its official holiday arrangement not loaded"
        )
    return ", ".join(parts)


def _due_text(deadline: pb.Deadline, due: str) -> str:
    if not due:
        return "-"
    return f"{due} (provisional)" if deadline.provisional else due
