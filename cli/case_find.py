"""`caseledger case search`: a clerk finds an applicant's cases by identity number.

The node looks the number up in its blind index (a keyed hash: it stores no
identity number in clear) and answers with the cases submitted there whose
owner is within the caller's division, newest first, names masked.
"""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from caseledger.cli.case_view import deadline_text
from caseledger.cli.output import beijing_time, console, emit_json, message_dict
from caseledger.cli.session import Session
from caseledger.cli.vocabulary import APPLICANT_TYPES, CASE_STATUSES, TermChoice
from caseledger.v1 import ledger_pb2 as pb


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
    for header in (
        "办件编号 number",
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
