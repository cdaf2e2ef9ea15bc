"""`caseledger report`: what a node's views say, from its ReportService.

`cases`, `stats`, `overdue` and `ratings` read the node's views for its
subtree (a division outside it is refused by the node); every read can name
the day it is about (`--as-of`, default today on the node's clock). Tables
for people, `--csv` for spreadsheets, `--json` for machines (the node's
answer, every field present).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from caseledger.cli.connect import open_channel
from caseledger.cli.output import console, emit_json, message_dict
from caseledger.cli.params import CalendarDate
from caseledger.cli.report_export import export
from caseledger.cli.report_tables import (
    LEVEL_NAMES,
    LEVELS,
    cases_csv,
    cases_table,
    differences,
    ratings_line,
    results_line,
    stats_csv,
    stats_table,
)
from caseledger.cli.session import Session
from caseledger.cli.vocabulary import CASE_STATUSES, DEADLINE_STATUSES
from caseledger.v1 import report_pb2, report_pb2_grpc

_STATUSES = {term.name: term.value for term in CASE_STATUSES}
_DEADLINES = {term.name: term.value for term in DEADLINE_STATUSES}


Command = TypeVar("Command", bound=Callable[..., Any])


def _as_of(command: Command) -> Command:
    return click.option(
        "--as-of",
        type=CalendarDate(),
        help="The day asked about (Beijing date); default today on the node's clock.",
    )(command)


def _division(command: Command) -> Command:
    return click.option(
        "--division",
        default="",
        metavar="CODE",
        help="A division of the node's subtree (12 digits); default the node itself.",
    )(command)


def _formats(command: Command) -> Command:
    command = click.option("--csv", "as_csv", is_flag=True, help="CSV on stdout.")(command)
    return click.option("--json", "as_json", is_flag=True, help="JSON on stdout.")(command)


_PAGES = click.option(
    "--pages",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Stop after this many pages (0: every page).",
)


@contextmanager
def reports_at(session: Session) -> Iterator[report_pb2_grpc.ReportServiceStub]:
    """The ReportService of the session's node, on a channel of its own."""
    with open_channel(session.address) as channel:
        yield report_pb2_grpc.ReportServiceStub(channel)


@click.group()
def report() -> None:
    """Read a node's views: cases, statistics, supervision and ratings (报表)."""


@dataclass(frozen=True)
class CaseChoice:
    """The filters `report cases` and `case list` share, as their options give them."""

    as_of: str | None
    division: str
    status: str | None
    item_code: str
    submitted_from: str | None
    submitted_to: str | None
    deadline: str | None


def cases_request(
    choice: CaseChoice, *, page_size: int, owner: str = "", channel: int = 0
) -> report_pb2.ListCasesRequest:
    """The ListCases request for `choice` (a status or deadline by its option name)."""
    return report_pb2.ListCasesRequest(
        as_of=choice.as_of or "",
        division=choice.division,
        status=_STATUSES[choice.status] if choice.status else 0,  # type: ignore[arg-type]
        item_code=choice.item_code,
        submitted_from=choice.submitted_from or "",
        submitted_to=choice.submitted_to or "",
        deadline=_DEADLINES[choice.deadline] if choice.deadline else 0,  # type: ignore[arg-type]
        page_size=page_size,
        owner=owner,
        channel=channel,  # type: ignore[arg-type]
    )


@report.command()
@_as_of
@_division
@click.option("--status", type=click.Choice(sorted(_STATUSES)), help="Only cases in this status.")
@click.option("--item", "item_code", default="", metavar="CODE", help="Only this item's cases.")
@click.option("--from", "submitted_from", type=CalendarDate(), help="Submitted on or after.")
@click.option("--to", "submitted_to", type=CalendarDate(), help="Submitted on or before.")
@click.option(
    "--deadline", type=click.Choice(sorted(_DEADLINES)), help="Only cases in this deadline state."
)
@click.option(
    "--page-size",
    type=click.IntRange(1, 1000),
    default=100,
    show_default=True,
    help="Cases a call.",
)
@_PAGES
@_formats
@click.pass_obj
def cases(  # noqa: PLR0917 - click passes every option
    session: Session,
    as_of: str | None,
    division: str,
    status: str | None,
    item_code: str,
    submitted_from: str | None,
    submitted_to: str | None,
    deadline: str | None,
    page_size: int,
    pages: int,
    as_csv: bool,
    as_json: bool,
) -> None:
    """The cases the node holds, with their deadline state on the day (办件清单)."""
    request = cases_request(
        CaseChoice(as_of, division, status, item_code, submitted_from, submitted_to, deadline),
        page_size=page_size,
    )
    found: list[report_pb2.ReportedCase] = []
    answers: list[report_pb2.ListCasesResponse] = []
    with reports_at(session) as stub:
        while True:
            answer = stub.ListCases(request, timeout=session.timeout)
            answers.append(answer)
            found += answer.cases
            request.page_token = answer.next_page_token
            if not answer.next_page_token or (pages and len(answers) >= pages):
                break
    day = answers[-1].as_of
    if as_json:
        emit_json({"as_of": day, "cases": [message_dict(case) for case in found]})
    elif as_csv:
        cases_csv(found)
    else:
        console().print(cases_table(f"办件 cases at {session.address} as of {day}", found))
        console().print(f"{len(found)} cases")


@report.command()
@click.option("--from", "first_day", type=CalendarDate(), help="First day of the period.")
@click.option("--to", "last_day", type=CalendarDate(), help="Last day of the period.")
@_as_of
@_division
@click.option(
    "--level",
    type=click.Choice(sorted(LEVEL_NAMES)),
    help="Only this level's rows; default every level from the node's down.",
)
@click.option("--item", "item_code", default="", metavar="CODE", help="Only this item's cases.")
@click.option("--per-item", is_flag=True, help="The rows again for each item.")
@_formats
@click.pass_obj
def stats(  # noqa: PLR0917 - click passes every option
    session: Session,
    first_day: str | None,
    last_day: str | None,
    as_of: str | None,
    division: str,
    level: str | None,
    item_code: str,
    per_item: bool,
    as_csv: bool,
    as_json: bool,
) -> None:
    """办件 figures of the subtree for a period (default: the day), per level.

    Each level's rows add up to the subtree's figures (each act counts at the
    node that did it); the command checks that they do and says so."""
    base = report_pb2.GetStatisticsRequest(
        first_day=first_day or "",
        last_day=last_day or "",
        as_of=as_of or "",
        division=division,
        item_code=item_code,
    )
    with reports_at(session) as stub:
        subtree = stub.GetStatistics(base, timeout=session.timeout)
        top = subtree.rows[0].level
        levels = [LEVEL_NAMES[level]] if level else [n for n in LEVELS if n >= top]
        answers = {}
        for number in levels:
            asked = report_pb2.GetStatisticsRequest()
            asked.CopyFrom(base)
            asked.level = number
            asked.per_item = per_item
            answers[number] = stub.GetStatistics(asked, timeout=session.timeout)
    named = {report_pb2.Level.Name(n).removeprefix("LEVEL_").lower(): a for n, a in answers.items()}
    if as_json:
        emit_json(
            {
                "subtree": message_dict(subtree),
                "levels": {name: message_dict(answer) for name, answer in named.items()},
            }
        )
        return
    if as_csv:
        stats_csv((name, row) for name, answer in named.items() for row in answer.rows)
        return
    out = console()
    period = f"{subtree.first_day} – {subtree.last_day}, as of {subtree.as_of}"
    for number, answer in answers.items():
        out.print(stats_table(f"{LEVELS[number]}: {period}", answer.rows, answer.total))
        wrong = differences(answer.rows, subtree.total)
        if wrong:
            out.print(f"[red]✗ {LEVELS[number]} rows do not add up: {'; '.join(wrong)}[/red]")
        else:
            out.print(
                f"✓ {LEVELS[number]}: {len(answer.rows)} rows add up to the subtree's figures"
            )
    out.print(results_line(subtree.total))


@report.command()
@_as_of
@_division
@_PAGES
@_formats
@click.pass_obj
def overdue(  # noqa: PLR0917 - click passes every option
    session: Session, as_of: str | None, division: str, pages: int, as_csv: bool, as_json: bool
) -> None:
    """电子监察: every case flagged on the day (预警, 黄牌, 红牌, a step overdue), red first."""
    request = report_pb2.ListOverdueRequest(as_of=as_of or "", division=division, page_size=1000)
    found: list[report_pb2.ReportedCase] = []
    asked = 0
    with reports_at(session) as stub:
        while True:
            answer = stub.ListOverdue(request, timeout=session.timeout)
            asked += 1
            found += answer.cases
            request.page_token = answer.next_page_token
            if not answer.next_page_token or (pages and asked >= pages):
                break
    if as_json:
        emit_json({"as_of": answer.as_of, "cases": [message_dict(case) for case in found]})
    elif as_csv:
        cases_csv(found)
    else:
        title = f"电子监察 supervision at {session.address} as of {answer.as_of}"
        console().print(cases_table(title, found))
        console().print(f"{len(found)} cases flagged")


@report.command()
@click.option("--from", "first_day", type=CalendarDate(), help="First day rated.")
@click.option("--to", "last_day", type=CalendarDate(), help="Last day rated.")
@_as_of
@_division
@click.option("--bad-only", is_flag=True, help="Only 差评 (a rectification was opened).")
@_PAGES
@_formats
@click.pass_obj
def ratings(  # noqa: PLR0917 - click passes every option
    session: Session,
    first_day: str | None,
    last_day: str | None,
    as_of: str | None,
    division: str,
    bad_only: bool,
    pages: int,
    as_csv: bool,
    as_json: bool,
) -> None:
    """好差评: the cases rated in the period, and the counts with 差评整改率."""
    request = report_pb2.ListRatingsRequest(
        first_day=first_day or "",
        last_day=last_day or "",
        as_of=as_of or "",
        division=division,
        bad_only=bad_only,
        page_size=1000,
    )
    found: list[report_pb2.ReportedCase] = []
    asked = 0
    with reports_at(session) as stub:
        while True:
            answer = stub.ListRatings(request, timeout=session.timeout)
            asked += 1
            found += answer.cases
            request.page_token = answer.next_page_token
            if not answer.next_page_token or (pages and asked >= pages):
                break
    if as_json:
        emit_json(
            {
                "as_of": answer.as_of,
                "figures": message_dict(answer.figures),
                "cases": [message_dict(case) for case in found],
            }
        )
    elif as_csv:
        cases_csv(found)
    else:
        console().print(cases_table(f"好差评 ratings as of {answer.as_of}", found))
        console().print(ratings_line(answer.figures))


report.add_command(export)
