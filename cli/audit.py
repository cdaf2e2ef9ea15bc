"""`caseledger audit`: replay a case's trail and verify it here, trusting no node.

`audit replay` exits 0 only when every hash and link of the trail checks out
(`trail.verify_trail`), and `CHAIN_BROKEN` otherwise, naming the first
broken event and why.
"""

from __future__ import annotations

from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from caseledger.cli.output import beijing_time, console, emit_json
from caseledger.cli.session import Session
from caseledger.cli.trail import EventCheck, TrailReport, verify_trail
from caseledger.v1 import ledger_pb2

CHAIN_BROKEN = 3
"""Exit code of `audit replay` when the trail does not verify."""

_SHORT_HASH = 12


@click.group()
def audit() -> None:
    """Verify what nodes recorded (审计)."""


@audit.command()
@click.argument("case_ref", metavar="CASE")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report with per-event results.")
@click.pass_obj
def replay(session: Session, case_ref: str, as_json: bool) -> None:
    """Fetch every event of CASE and check its hash chain independently of the node.

    Exits 0 when the whole chain verifies, 3 at the first break.
    """
    response = session.ledger.ListCaseEvents(
        ledger_pb2.ListCaseEventsRequest(case=case_ref), timeout=session.timeout
    )
    report = verify_trail(response, case_ref)
    if as_json:
        emit_json(report_document(report))
    else:
        show_report(report)
    if not report.verified:
        raise click.exceptions.Exit(CHAIN_BROKEN)


def summary(report: TrailReport) -> str:
    """One line: verified, or where and why the trail breaks."""
    if report.verified:
        return (
            f"✓ {len(report.checks)} events of case {report.case_number} verified; "
            f"last hash {report.last_hash}"
        )
    position, reason = report.first_break or (None, "unknown")
    if position is None:
        return f"✗ trail of case {report.reference} does not verify: {reason}"
    stage = report.checks[position - 1].event.stage
    return f"✗ chain broken at event {position} ({stage}): {reason}"


def show_report(report: TrailReport) -> None:
    table = Table(title=f"trail of case {escape(report.case_number)}  {report.case_id}")
    for header, justify in (
        ("#", "right"),
        ("stage", "left"),
        ("node", "left"),
        ("operator", "left"),
        ("time (UTC+8)", "left"),
        ("days", "right"),
        ("hash", "left"),
        ("", "center"),
    ):
        table.add_column(header, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for check in report.checks:
        event = check.event
        table.add_row(
            str(check.position),
            escape(event.stage),
            escape(event.node),
            escape(f"{event.operator.id}/{event.operator.role}"),
            beijing_time(event.occurred_at),
            str(event.working_days_used),
            event.hash[:_SHORT_HASH],
            "[green]✓[/green]" if check.ok else "[red]✗[/red]",
        )
    out = console()
    out.print(table)
    for check in report.checks:
        for problem in check.problems:
            out.print(f"  event {check.position}: {escape(problem)}")
    out.print(escape(summary(report)))


def report_document(report: TrailReport) -> dict[str, Any]:
    """The machine-readable report: verdict, first break, and each event's result."""
    first = report.first_break
    return {
        "case_id": report.case_id,
        "case_number": report.case_number,
        "verified": report.verified,
        "events_checked": len(report.checks),
        "first_break": None if first is None else {"position": first[0], "reason": first[1]},
        "problems": list(report.problems),
        "events": [_event_document(check) for check in report.checks],
    }


def _event_document(check: EventCheck) -> dict[str, Any]:
    event = check.event
    return {
        "position": check.position,
        "version": event.version,
        "stage": event.stage,
        "node": event.node,
        "operator": {"id": event.operator.id, "role": event.operator.role},
        "request_id": event.request_id,
        "occurred_at": event.occurred_at.ToJsonString(),
        "working_days_used": event.working_days_used,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
        "ok": check.ok,
        "problems": list(check.problems),
    }
