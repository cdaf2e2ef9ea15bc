"""`caseledger projection`: where a node's views stand, and rebuilding them.

`status` shows, per view and per log the view follows (the node's own log,
`authored`, and what it received, `received`), the position processed, the
log's head and the lag between them, and whether the follower runs.
`rebuild` has the node rebuild its views from its logs beside the current
ones, which answer until the new ones have caught up, and follows its
progress.
"""

from __future__ import annotations

import time

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from caseledger.cli.output import console, emit_json, message_dict
from caseledger.cli.report import reports_at
from caseledger.cli.session import Session
from caseledger.v1 import report_pb2

_POLL = 0.2


@click.group()
def projection() -> None:
    """A node's views: their position and lag, and rebuilding them."""


def _status_table(address: str, status: report_pb2.GetProjectionStatusResponse) -> Table:
    table = Table(title=f"views at {address}")
    for header in ("view", "upstream", "position", "head", "lag"):
        table.add_column(
            header, justify="right" if header in ("position", "head", "lag") else "left"
        )
    for p in status.positions:
        table.add_row(p.view, p.upstream, str(p.position), str(p.head), str(p.lag))
    return table


@projection.command()
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout.")
@click.pass_obj
def status(session: Session, as_json: bool) -> None:
    """Position, head and lag of each view in each log it follows; exit 1 when the
    follower has stopped."""
    with reports_at(session) as stub:
        answer = stub.GetProjectionStatus(
            report_pb2.GetProjectionStatusRequest(), timeout=session.timeout
        )
    if as_json:
        emit_json(message_dict(answer))
    else:
        out = console()
        out.print(_status_table(session.address, answer))
        if answer.following:
            out.print("follower: running")
        else:
            out.print(f"[red]follower: stopped[/red] {answer.error}")
        if answer.HasField("rebuild"):
            r = answer.rebuild
            state = "running" if r.running else ("failed: " + r.error if r.error else "done")
            out.print(f"rebuild: {state}, {r.processed}/{r.total} positions, {r.seconds:.1f} s")
    if not answer.following:
        raise click.exceptions.Exit(1)


@projection.command()
@click.pass_obj
def rebuild(session: Session) -> None:
    """Rebuild the node's views from its logs while it keeps serving: the current
    views answer until the new ones have caught up, then take their place."""
    with reports_at(session) as stub:
        started = stub.RebuildProjection(
            report_pb2.RebuildProjectionRequest(), timeout=session.timeout
        ).rebuild
        progress = Progress(
            TextColumn("rebuilding views"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console(),
        )
        with progress:
            task = progress.add_task("rebuild", total=started.total or None)
            current = started
            while current.running:
                time.sleep(_POLL)
                answer = stub.GetProjectionStatus(
                    report_pb2.GetProjectionStatusRequest(), timeout=session.timeout
                )
                current = answer.rebuild
                progress.update(task, completed=current.processed, total=current.total or None)
    if current.error:
        click.echo(f"rebuild failed: {current.error}", err=True)
        raise click.exceptions.Exit(1)
    console().print(f"views rebuilt from {current.total} positions in {current.seconds:.1f} s")
