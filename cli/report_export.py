"""`caseledger report export`: what a node's upward exchange gained since a pull.

`--format exchange` pulls the stage tables (受理, 过程, 特别程序, 结果, 材料;
docs/exchange.md) from the node's ReportService, each row with the batch
that wrote it last and its operation (`I` new since `--since`, `U` changed
since). With `--out DIR` each table goes to a file of its own
(`DIR/<table>.csv` or `.jsonl`, written whole once the pull has ended, so a
failed pull leaves the files as they were) and stdout carries only the
position to resume from; without it the rows stream to stdout (JSON lines,
each with its `table`; CSV for one `--table` only) and the position goes to
stderr. The next pull passes that position as `--since`.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import click

from caseledger.cli.connect import open_channel
from caseledger.cli.output import error_console
from caseledger.cli.session import Session
from caseledger.v1 import report_pb2, report_pb2_grpc

__all__ = ["export"]

STAGE_TABLES = {
    "acceptance": report_pb2.STAGE_TABLE_ACCEPTANCE,
    "process": report_pb2.STAGE_TABLE_PROCESS,
    "special": report_pb2.STAGE_TABLE_SPECIAL,
    "result": report_pb2.STAGE_TABLE_RESULT,
    "material": report_pb2.STAGE_TABLE_MATERIAL,
}
"""The stage tables by their stable names (docs/exchange.md)."""


class Position(click.ParamType[int]):
    """A position an earlier export printed: a whole number, 0 for the first pull."""

    name = "POSITION"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip()
        if not text.isdigit() or len(text) > 18:
            self.fail(
                f"{value!r} is not a position: give the number an earlier export printed "
                "(0 for the first pull)",
                param,
                ctx,
            )
        return int(text)


class _Table:
    """One stage table as the pull delivers it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.columns: list[report_pb2.ExchangeColumn] = []
        self.rows: list[report_pb2.ExchangeRow] = []

    @property
    def header(self) -> list[str]:
        return ["batch", "operation", *(c.name for c in self.columns)]

    def record(self, row: report_pb2.ExchangeRow) -> dict[str, Any]:
        out: dict[str, Any] = {"batch": row.batch, "operation": row.operation}
        for column, value in zip(self.columns, row.values, strict=True):
            if column.integer:
                out[column.name] = int(value) if value else None
            else:
                out[column.name] = value
        return out


class _Pull:
    """One pull from the node: its rows as they arrive, then where to resume."""

    def __init__(self, session: Session, request: report_pb2.StreamExchangeRequest) -> None:
        self._session = session
        self._request = request
        self.tables: dict[str, _Table] = {}
        self.position = request.after

    def rows(self) -> Iterator[tuple[_Table, report_pb2.ExchangeRow | None]]:
        """Each row with its table; a table's first page comes with None first."""
        with open_channel(self._session.address) as channel:
            stub = report_pb2_grpc.ReportServiceStub(channel)
            for answer in stub.StreamExchange(self._request, timeout=self._session.timeout):
                table = self.tables.get(answer.table)
                if table is None:
                    table = self.tables[answer.table] = _Table(answer.table)
                    table.columns = list(answer.columns)
                    yield table, None
                for row in answer.rows:
                    yield table, row
                self.position = answer.resume_from


def _write_table(table: _Table, folder: Path, as_csv: bool) -> None:
    target = folder / f"{table.name}.{'csv' if as_csv else 'jsonl'}"
    partial = target.with_name(target.name + ".partial")
    with partial.open("w", encoding="utf-8", newline="") as out:
        if as_csv:
            writer = csv.writer(out)
            writer.writerow(table.header)
            for row in table.rows:
                writer.writerow([row.batch, row.operation, *row.values])
        else:
            for row in table.rows:
                out.write(json.dumps(table.record(row), ensure_ascii=False) + "\n")
    os.replace(partial, target)


def _stream(pull: _Pull, as_csv: bool, out: IO[str]) -> int:
    """Rows to `out` as they arrive; how many."""
    writer = csv.writer(out) if as_csv else None
    count = 0
    for table, row in pull.rows():
        if row is None:
            if writer is not None:
                writer.writerow(table.header)
            continue
        count += 1
        if writer is not None:
            writer.writerow([row.batch, row.operation, *row.values])
        else:
            out.write(json.dumps({"table": table.name, **table.record(row)}, ensure_ascii=False))
            out.write("\n")
    return count


@click.command()
@click.option(
    "--format",
    "form",
    type=click.Choice(["exchange"]),
    required=True,
    help="exchange: the stage tables of the upward exchange (办件信息汇聚).",
)
@click.option(
    "--since",
    type=Position(),
    required=True,
    help="The position the last export printed; 0 for the first pull.",
)
@click.option("--csv", "as_csv", is_flag=True, help="CSV (a header line, then rows).")
@click.option("--jsonl", "as_jsonl", is_flag=True, help="JSON lines (the default).")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="A folder for one file per table; stdout then prints only the position.",
)
@click.option(
    "--table",
    type=click.Choice(list(STAGE_TABLES)),
    help="Only this stage table; default every one.",
)
@click.option(
    "--division",
    default="",
    metavar="CODE",
    help="A division of the node's subtree (12 digits); default the node itself.",
)
@click.option(
    "--page-size",
    type=click.IntRange(1, 1000),
    default=500,
    show_default=True,
    help="Rows a message of the node's stream.",
)
@click.pass_obj
def export(  # noqa: PLR0917 - click passes every option
    session: Session,
    form: str,
    since: int,
    as_csv: bool,
    as_jsonl: bool,
    out: Path | None,
    table: str | None,
    division: str,
    page_size: int,
) -> None:
    """What the node's upward exchange gained since POSITION (增量汇聚), and where to resume."""
    if as_csv and as_jsonl:
        raise click.UsageError("--csv and --jsonl exclude each other")
    if as_csv and out is None and table is None:
        raise click.UsageError("CSV on stdout takes one --table; use --out DIR for every table")
    request = report_pb2.StreamExchangeRequest(
        after=since,
        division=division,
        table=STAGE_TABLES[table] if table else report_pb2.STAGE_TABLE_UNSPECIFIED,
        page_size=page_size,
    )
    pull = _Pull(session, request)
    if out is None:
        count = _stream(pull, as_csv, sys.stdout)
        error_console().print(f"{count} rows; resume with --since {pull.position}")
        return
    for pulled, row in pull.rows():
        if row is not None:
            pulled.rows.append(row)
    try:
        out.mkdir(parents=True, exist_ok=True)
        for pulled in pull.tables.values():
            _write_table(pulled, out, as_csv)
    except OSError as error:
        raise click.FileError(str(out), str(error)) from None
    rows = sum(len(t.rows) for t in pull.tables.values())
    error_console().print(f"{rows} rows in {len(pull.tables)} tables written to {out}")
    click.echo(str(pull.position))
