"""`caseledger case search` and `case list`: a clerk finds cases without their number.

`search` finds an applicant's cases by identity number. `list` reads the
node's views (the ReportService's `ListCases`, as `report cases` does) with
the clerk's filters.

The node looks the number up in its blind index (a keyed hash: it stores no
identity number in clear) and answers with the cases submitted there whose
owner is within the caller's division, newest first, names masked.
"""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from caseledger.cli.case_view import deadline_text
from caseledger.cli.connect import open_channel
from caseledger.cli.output import beijing_time, console, emit_json, message_dict
from caseledger.cli.params import CalendarDate
from caseledger.cli.report import CaseChoice, cases_request
from caseledger.cli.session import Session
from caseledger.cli.vocabulary import (
    APPLICANT_TYPES,
    CASE_STATUSES,
    DEADLINE_STATUSES,
    SUBMISSION_CHANNELS,
    TermChoice,
)
from caseledger.v1 import ledger_pb2 as pb
from caseledger.v1 import report_pb2, report_pb2_grpc


@click.command()
@click.option(
    "--applicant-type",
    type=TermChoice(APPLICANT_TYPES),
    required=True,
    help="申请人类型: the kind of identity number given.",
)
@click.option(
    "--id-number",
    required=True,
    help="Citizen ID (GB 11643, 18 characters, the last a check digit or X) or unified social "
    "credit code (GB 32100, 18 characters, the last a check character).",
)
@click.option(
    "--limit",
    type=click.IntRange(1, 1000),
    default=100,
    show_default=True,
    help="At most this many cases, newest first.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@click.pass_obj
def search(
    session: Session, applicant_type: int, id_number: str, limit: int, as_json: bool
) -> None:
    """Find an applicant's cases by identity number (按申请人查询).

    The node answers from its blind index of the cases submitted there, and
    only with cases owned within the caller's division.
    """
    response = session.ledger.SearchCases(
        pb.SearchCasesRequest(
            applicant_type=applicant_type,  # type: ignore[arg-type]
            id_number=id_number,
            page_size=limit,
        ),
        timeout=session.timeout,
    )
    cases = list(response.cases)
    if as_json:
        emit_json(
            {"cases": [message_dict(case) for case in cases], "truncated": response.truncated}
        )
        return
    out = console()
    out.print(found_table(f"申请人办件 cases of the applicant at {session.address}", cases))
    more = f" (more than {limit}: raise --limit)" if response.truncated else ""
    out.print(f"{len(cases)} cases{more}")


def found_table(title: str, cases: list[pb.CaseView]) -> Table:
    table = Table(title=title)
    table.add_column("办件编号 number", no_wrap=True, min_width=26)
    for header in (
        "收件 submitted",
        "事项 item",
        "申请人 applicant",
        "状态 status",
        "所有 owner",
        "时限 deadline",
    ):
        table.add_column(header)
    for case in cases:
        table.add_row(
            case.case_number,
            beijing_time(case.submitted_at) if case.HasField("submitted_at") else "-",
            escape(case.item_name),
            escape(case.applicant_name),
            CASE_STATUSES.label(case.status),
            case.owner,
            escape(deadline_text(case.deadline)),
        )
    return table


_STATUSES = {term.name: term.value for term in CASE_STATUSES}
_DEADLINES = {term.name: term.value for term in DEADLINE_STATUSES}


@click.command("list")
@click.option("--status", type=click.Choice(sorted(_STATUSES)), help="Only cases in this status.")
@click.option("--item", "item_code", default="", metavar="CODE", help="Only this item's cases.")
@click.option("--from", "submitted_from", type=CalendarDate(), help="Submitted on or after.")
@click.option("--to", "submitted_to", type=CalendarDate(), help="Submitted on or before.")
@click.option(
    "--deadline", type=click.Choice(sorted(_DEADLINES)), help="Only cases in this deadline state."
)
@click.option(
    "--owner",
    default="",
    metavar="CODE",
    callback=lambda ctx, param, value: _division_code(value, param, ctx),
    help="Only cases owned by this node (12-digit division code).",
)
@click.option("--channel", type=TermChoice(SUBMISSION_CHANNELS), help="Only cases submitted so.")
@click.option(
    "--division",
    default="",
    metavar="CODE",
    help="A division of the node's subtree (12 digits); default the node itself.",
)
@click.option("--as-of", type=CalendarDate(), help="The day the deadlines are told for.")
@click.option(
    "--limit",
    type=click.IntRange(1, 10_000),
    default=100,
    show_default=True,
    help="At most this many cases.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@click.pass_obj
def list_cases(  # noqa: PLR0917 - click passes every option
    session: Session,
    status: str | None,
    item_code: str,
    submitted_from: str | None,
    submitted_to: str | None,
    deadline: str | None,
    owner: str,
    channel: int | None,
    division: str,
    as_of: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """The cases the node holds (办件清单), from its views, filtered and paged by the node."""
    request = cases_request(
        CaseChoice(as_of, division, status, item_code, submitted_from, submitted_to, deadline),
        page_size=min(limit, _PAGE),
        owner=owner,
        channel=channel or 0,
    )
    found: list[report_pb2.ReportedCase] = []
    with open_channel(session.address) as grpc_channel:
        reports = report_pb2_grpc.ReportServiceStub(grpc_channel)
        while True:
            answer = reports.ListCases(request, timeout=session.timeout)
            found += answer.cases
            request.page_token = answer.next_page_token
            if len(found) >= limit or not answer.next_page_token:
                break
    # More may match: the node has pages left, or it sent more than this command shows.
    more = len(found) > limit or bool(request.page_token)
    day = answer.as_of
    found = found[:limit]
    if as_json:
        emit_json({"as_of": day, "cases": [message_dict(case) for case in found], "more": more})
        return
    out = console()
    out.print(listed_table(f"办件 cases at {session.address} as of {day}", found))
    out.print(f"{len(found)} cases" + (" (more may match: raise --limit)" if more else ""))


def listed_table(title: str, cases: list[report_pb2.ReportedCase]) -> Table:
    """The views' cases for a clerk: the number whole, the deadline with days used and left."""
    table = Table(title=title)
    table.add_column("办件编号 number", no_wrap=True, min_width=26)
    for header in (
        "收件 submitted",
        "事项 item",
        "渠道 channel",
        "状态 status",
        "所有 owner",
        "时限 deadline",
        "已用/剩余 used/left",
    ):
        table.add_column(header)
    for case in cases:
        deadline = case.deadline
        days = (
            f"{deadline.working_days_used}/{deadline.days_remaining}"
            if deadline.promised_due
            else "-"
        )
        table.add_row(
            case.case_number,
            beijing_time(case.submitted_at)[:10] or "-",
            escape(case.item_name),
            SUBMISSION_CHANNELS.label(case.channel),
            CASE_STATUSES.label(case.status),
            case.owner,
            DEADLINE_STATUSES.label(deadline.status) or "-",
            days,
        )
    return table


def _division_code(value: str, param: click.Parameter, ctx: click.Context) -> str:
    if value and not (len(value) == 12 and value.isascii() and value.isdigit()):
        raise click.BadParameter(f"{value!r} is not a 12-digit division code", ctx, param)
    return value


_PAGE = 500
"""Cases a call asks the node for (its bound is 1000)."""
