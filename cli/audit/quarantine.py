"""`caseledger audit quarantined`: what a node holds apart instead of applying (隔离).

A node quarantines a case whose received trail broke, or where a second copy
of a version it holds came with another hash, and records gaps in a source's
log; each entry carries its evidence (both hashes where two copies met).
The node's `caseledger.quarantine` health service is NOT_SERVING while any
entry is there. This lists them; settling one is an operator's work, not
this command's.
"""

from __future__ import annotations

from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from caseledger.cli.output import beijing_time, console, emit_json
from caseledger.cli.session import Session
from caseledger.v1 import ledger_pb2

_PREFIX = "QUARANTINE_REASON_"


def reason_name(reason: int) -> str:
    """`conflict`, `broken_link`, ...: the node's stable name of a reason."""
    try:
        return ledger_pb2.QuarantineReason.Name(reason).removeprefix(_PREFIX).lower()  # type: ignore[arg-type]
    except ValueError:
        return f"reason {reason}"


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@click.pass_obj
def quarantined(session: Session, as_json: bool) -> None:
    """List the cases the node holds in quarantine, and why, with the evidence."""
    response = session.ledger.ListQuarantined(
        ledger_pb2.ListQuarantinedRequest(), timeout=session.timeout
    )
    entries = list(response.cases)
    if as_json:
        emit_json(
            {"node": session.address, "count": len(entries), "quarantined": _documents(entries)}
        )
        return
    out = console()
    if not entries:
        out.print(f"nothing is quarantined at node {escape(session.address)}")
        return
    table = Table(title=f"quarantined at node {escape(session.address)}")
    for header in ("case", "source", "version", "reason", "first seen (UTC+8)", "held"):
        table.add_column(header, no_wrap=True)
    for entry in entries:
        table.add_row(
            escape(entry.case_id or "-"),
            escape(entry.source),
            str(entry.version),
            reason_name(entry.reason),
            beijing_time(entry.first_seen),
            str(entry.held_events),
        )
    out.print(table)
    for entry in entries:
        out.print(escape(f"{entry.case_id or entry.source} v{entry.version}: {entry.detail}"))
        if entry.held_hash or entry.received_hash:
            out.print(f"  held here: {entry.held_hash or '-'}")
            out.print(f"  received:  {entry.received_hash or '-'}")
    out.print(f"{len(entries)} {'entry' if len(entries) == 1 else 'entries'} quarantined")


def _documents(entries: list[ledger_pb2.QuarantinedCase]) -> list[dict[str, Any]]:
    return [
        {
            "case_id": entry.case_id,
            "source": entry.source,
            "version": entry.version,
            "reason": reason_name(entry.reason),
            "detail": entry.detail,
            "held_hash": entry.held_hash,
            "received_hash": entry.received_hash,
            "first_seen": entry.first_seen.ToJsonString() if entry.HasField("first_seen") else None,
            "held_events": entry.held_events,
        }
        for entry in entries
    ]
