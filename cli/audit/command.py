"""`caseledger audit`: replay a case's trail and verify it here, trusting no node.

`audit replay` exits 0 only when every hash and link of the trail checks out
(`trail.verify_trail`), and `CHAIN_BROKEN` otherwise, naming the first
broken event and why. A node that reports its own copy damaged (DATA_LOSS:
a version missing or unreadable, two copies of one version) is a broken
trail too, named by its version (`damage`). With `--compare`, the trail is
fetched at more nodes as well and the copies are compared with each other
(`copies`): a node holding less than another, or another history, breaks it.
`audit quarantined` lists what a node holds apart (`quarantine`). With
`--proofs`, each event is also proven included in the signed checkpoint of
the node that authored it (`inclusion`); `audit verify` checks a node's
whole log against its checkpoint (`verify`, docs/audit.md); `audit
witnessed` and `audit forks` show what a node cosigned of its descendants'
checkpoints and the forks it found (`witnesses`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import grpc
from rich.markup import escape
from rich.table import Table

from caseledger.cli.audit.bundle import bundle, check_bundle
from caseledger.cli.audit.copies import Difference, compare_copies
from caseledger.cli.audit.damage import Damage, damage_of
from caseledger.cli.audit.inclusion import (
    add_inclusion,
    inclusion_of,
    inclusion_options,
    show_inclusion,
)
from caseledger.cli.audit.quarantine import quarantined
from caseledger.cli.audit.store import verify_store_command
from caseledger.cli.audit.trail import EventCheck, TrailReport, verify_trail
from caseledger.cli.audit.verify import verify
from caseledger.cli.audit.witnesses import forks, witnessed
from caseledger.cli.connect import open_channel
from caseledger.cli.output import beijing_time, console, emit_json
from caseledger.cli.session import Session
from caseledger.cli.vocabulary import stage_label
from caseledger.v1 import ledger_pb2, ledger_pb2_grpc

CHAIN_BROKEN = 3
"""Exit code of `audit replay` when the trail does not verify."""
UNREACHABLE = 9
"""The command line's exit code for a node that did not answer (`main.EXIT_CODES`)."""

_SHORT_HASH = 12


@click.group()
def audit() -> None:
    """Verify what nodes recorded (审计)."""


audit.add_command(verify)
audit.add_command(verify_store_command)
audit.add_command(bundle)
audit.add_command(check_bundle)
audit.add_command(witnessed)
audit.add_command(forks)


@dataclass(frozen=True)
class Copy:
    """What one node answered for the case: a trail (checked here), its word
    that its copy is damaged, or that it holds nothing of the case."""

    node: str
    report: TrailReport | None = None
    damage: Damage | None = None

    @property
    def verified(self) -> bool:
        return self.report is not None and self.report.verified

    @property
    def versions(self) -> list[tuple[int, str]]:
        if self.report is None:
            return []
        return [(check.event.version, check.event.hash) for check in self.report.checks]


@audit.command()
@click.argument("case_ref", metavar="CASE")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report with per-event results.")
@click.option(
    "--compare",
    "others",
    multiple=True,
    metavar="HOST:PORT",
    help="Fetch the trail at this node too (repeatable) and flag any node whose copy "
    "is shorter than another's or differs at a version.",
)
@inclusion_options
@click.pass_obj
def replay(
    session: Session,
    *,
    case_ref: str,
    as_json: bool,
    others: tuple[str, ...],
    proofs: bool,
    key_files: tuple[Path, ...],
    authors: tuple[str, ...],
    witnesses: tuple[str, ...],
) -> None:
    """Fetch every event of CASE and check its hash chain independently of the node.

    Exits 0 when the whole chain verifies (and, with --compare, every node
    holds the same copy), 3 at the first break, a damaged copy or a difference.
    """
    first = _fetch(session.address, session.ledger, case_ref, session.timeout, required=True)
    copies = [first]
    for address in others:
        with open_channel(address) as channel:
            stub = ledger_pb2_grpc.LedgerServiceStub(channel)
            copies.append(_fetch(address, stub, case_ref, session.timeout, required=False))
    differences = _differences(copies) if others else []
    inclusion = None
    if (proofs or key_files or authors or witnesses) and first.report is not None:
        inclusion = inclusion_of(
            session.address,
            [check.event for check in first.report.checks],
            first.report.case_id,
            key_files=key_files,
            authors=authors,
            timeout=session.timeout,
            witnesses=witnesses,
        )
    if as_json:
        document = _document(first, copies if others else [], differences)
        if inclusion is not None:
            add_inclusion(document, inclusion)
        emit_json(document)
    else:
        _show(first, copies if others else [], differences)
        if inclusion is not None:
            show_inclusion(inclusion)
    if not all(c.verified for c in copies if c.report or c.damage) or differences:
        raise click.exceptions.Exit(CHAIN_BROKEN)
    if inclusion is not None and not inclusion.verified:
        raise click.exceptions.Exit(CHAIN_BROKEN)


def _fetch(
    node: str,
    stub: ledger_pb2_grpc.LedgerServiceStub,
    case_ref: str,
    timeout: float,
    required: bool,
) -> Copy:
    """The case as `node` holds it. A node that does not hold it is an error
    when it is the one asked (`required`), and an empty copy when compared."""
    try:
        response = stub.ListCaseEvents(
            ledger_pb2.ListCaseEventsRequest(case=case_ref), timeout=timeout
        )
    except grpc.RpcError as error:
        damage = damage_of(error)
        if damage is not None:
            return Copy(node, damage=damage)
        if required:
            raise  # the command line's one translation says what went wrong
        if isinstance(error, grpc.Call) and error.code() is grpc.StatusCode.NOT_FOUND:
            return Copy(node)
        failure = click.ClickException(f"node at {node} did not answer: {_code(error)}")
        failure.exit_code = UNREACHABLE
        raise failure from None
    return Copy(node, report=verify_trail(response, case_ref))


def _code(error: grpc.RpcError) -> str:
    return error.code().name if isinstance(error, grpc.Call) else "no status"


def _differences(copies: list[Copy]) -> list[Difference]:
    found = [
        Difference(c.node, c.damage.version, f"{c.node}: {c.damage.describe()}")
        for c in copies
        if c.damage is not None
    ]
    comparable = {c.node: c.versions for c in copies if c.damage is None}
    return found + compare_copies(comparable)


def _show(first: Copy, copies: list[Copy], differences: list[Difference]) -> None:
    out = console()
    if first.report is not None:
        show_report(first.report)
    elif first.damage is not None:
        out.print(escape(damaged_summary(first.node, first.damage)))
    if not copies:
        return
    for copy in copies:
        out.print(escape(_copy_line(copy)))
    for difference in differences:
        out.print(escape(f"✗ {difference.reason}"))
    if not differences:
        out.print(escape(f"✓ {len(copies)} nodes hold the same copy"))


def damaged_summary(node: str, damage: Damage) -> str:
    return f"✗ the copy at node {node} is damaged: {damage.describe()}"


def _copy_line(copy: Copy) -> str:
    if copy.damage is not None:
        return f"  {copy.node}: damaged at version {copy.damage.version} ({copy.damage.kind})"
    if copy.report is None:
        return f"  {copy.node}: holds no event of the case"
    verdict = "verified" if copy.report.verified else "does not verify"
    return (
        f"  {copy.node}: {len(copy.report.checks)} events, {verdict}, "
        f"last hash {copy.report.last_hash[:_SHORT_HASH]}"
    )


def _document(first: Copy, copies: list[Copy], differences: list[Difference]) -> dict[str, Any]:
    if first.report is not None:
        document = report_document(first.report)
    else:
        assert first.damage is not None
        document = damage_document(first.damage)
    if copies:
        document["verified"] = document["verified"] and not differences
        document["copies"] = [_copy_document(c) for c in copies]
        document["differences"] = [
            {"node": d.node, "version": d.version, "reason": d.reason} for d in differences
        ]
    return document


def damage_document(damage: Damage) -> dict[str, Any]:
    """The report of a node that says its copy is damaged: not verified, and where."""
    return {
        "case_id": damage.case,
        "verified": False,
        "damaged": {
            "version": damage.version,
            "damage": damage.kind,
            "reason": damage.describe(),
            "held_hash": damage.held_hash,
            "other_hash": damage.other_hash,
        },
        "first_break": {"version": damage.version, "reason": damage.describe()},
        "events": [],
    }


def _copy_document(copy: Copy) -> dict[str, Any]:
    return {
        "node": copy.node,
        "events": len(copy.versions),
        "verified": copy.verified,
        "last_hash": copy.report.last_hash if copy.report else "",
        "damaged": None if copy.damage is None else copy.damage.describe(),
    }


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
    stage = stage_label(report.checks[position - 1].event.stage)
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
            escape(stage_label(event.stage)),
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
        "stage_label": stage_label(event.stage),
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


audit.add_command(quarantined)
