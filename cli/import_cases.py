"""`caseledger import FILE`: a source system's cases into a node, in batches.

Records go to the node's IntakeService in calls of `--batch` records; the
node writes a call whole or not at all, so a call it refuses for bad records
is sent again without them, and every refused line is reported by its
number with the node's reasons. After each call the run's progress is kept
(`import_records.Progress`); the same command resumes a run that stopped,
and records sent twice are answered from the first time (record id =
request id), so nothing is imported twice either way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import click
import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.progress import (
    Progress as Bar,
)

from caseledger.cli.connect import open_channel
from caseledger.cli.import_records import Line, Progress, count_lines, lines
from caseledger.cli.session import Session
from caseledger.v1 import intake_pb2, intake_pb2_grpc

EXIT_REFUSED_LINES = 4
SECONDS_PER_RECORD = 0.1
"""A call's deadline grows with its records (at least --timeout): a busy node
takes seconds for a call of hundreds, and a call cut off is only sent again."""
"""As for invalid input to any command: the lines refused are named."""

_RECORD_PATH = re.compile(r"^records\[(\d+)\]\.(.*)$")
# How the node names a submission's fields, and how the file names them.
_FILE_NAMES = (
    ("submission.meta.operator.", "operator."),
    ("submission.meta.", ""),
    ("submission.", ""),
)


@dataclass
class Tally:
    imported: int = 0
    replayed: int = 0
    events: int = 0
    refused: list[tuple[int, str]] = field(default_factory=list)

    def add(self, response: intake_pb2.ImportCasesResponse) -> None:
        for record in response.records:
            if record.result.replayed:
                self.replayed += 1
            else:
                self.imported += 1
                self.events += record.events


def _file_name(path: str) -> str:
    for prefix, name in _FILE_NAMES:
        if path.startswith(prefix):
            return name + path[len(prefix) :]
    return path


def _refused_records(error: grpc.RpcError) -> dict[int, list[str]]:
    """The records a refused call named, by their index in it, with each fault."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    faults: dict[int, list[str]] = {}
    for detail in status.details if status is not None else ():
        if not detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            continue
        request = error_details_pb2.BadRequest()
        detail.Unpack(request)
        for violation in request.field_violations:
            matched = _RECORD_PATH.match(violation.field)
            if matched is None:
                return {}  # a fault of the call itself: not for this loop to resolve
            faults.setdefault(int(matched[1]), []).append(
                f"{_file_name(matched[2])}: {violation.description}"
            )
    return faults


def _send(
    stub: intake_pb2_grpc.IntakeServiceStub, pending: list[Line], tally: Tally, timeout: float
) -> None:
    """Import `pending`, sending again without the records the node refuses."""
    while pending:
        records = [line.record for line in pending if line.record is not None]
        try:
            response = stub.ImportCases(
                intake_pb2.ImportCasesRequest(records=records), timeout=timeout
            )
        except grpc.RpcError as error:
            if error.code() is not grpc.StatusCode.INVALID_ARGUMENT:
                raise
            faults = _refused_records(error)
            if not faults:
                raise
            tally.refused.extend((pending[i].number, "; ".join(f)) for i, f in faults.items())
            pending = [line for i, line in enumerate(pending) if i not in faults]
            continue
        tally.add(response)
        return


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--batch",
    type=click.IntRange(1, 5000),
    default=500,
    show_default=True,
    help="Records per call; the node writes a call whole. Each call may take "
    f"{SECONDS_PER_RECORD} s per record (at least --timeout).",
)
@click.option(
    "--restart",
    is_flag=True,
    help="Forget where an earlier run of FILE stopped and start from its first line "
    "(records already imported are answered from the first time).",
)
@click.pass_obj
def import_cases(session: Session, file: Path, batch: int, restart: bool) -> None:
    """Import a source system's cases from FILE, one JSON record per line (迁移办件).

    Each line is a submission under its stable `record_id` (docs/performance.md
    shows a line). A run that stops resumes where it stopped when run again;
    a record imported before is not imported twice. Lines that are not
    records, or that the node refuses, are named by their line number with
    the reason, and nothing of them is written; the rest are imported, and
    the command exits with code 4.
    """
    if restart:
        Progress(file).forget()
    try:
        progress = Progress.read(file)
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    tally = Tally()
    operator = (session.operator, session.role)
    timeout = max(session.timeout, batch * SECONDS_PER_RECORD)
    console = Console(stderr=True)
    if progress.line:
        console.print(f"resuming {file.name} after line {progress.line}")
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with open_channel(session.address) as channel, Bar(*columns, console=console) as bar:
        task = bar.add_task("importing", total=count_lines(file), completed=progress.line)
        stub = intake_pb2_grpc.IntakeServiceStub(channel)
        pending: list[Line] = []
        last: Line | None = None
        for line in lines(file, progress.offset, progress.line + 1, operator):
            progress.read_past(line)
            last = line
            if line.record is not None:
                pending.append(line)
            elif line.refusal:
                tally.refused.append((line.number, line.refusal))
            if len(pending) >= batch:
                _send(stub, pending, tally, timeout)
                pending = []
                progress.keep(line.number, line.end)
                bar.update(task, completed=line.number)
        if last is not None:
            _send(stub, pending, tally, timeout)
            progress.keep(last.number, last.end)
            bar.update(task, completed=last.number)
    for number, reason in sorted(tally.refused):
        click.echo(f"line {number}: {reason}", err=True)
    click.echo(
        f"imported {tally.imported} records ({tally.events} events), "
        f"{tally.replayed} already on the node, {len(tally.refused)} lines refused"
    )
    if tally.refused:
        raise click.exceptions.Exit(EXIT_REFUSED_LINES)
