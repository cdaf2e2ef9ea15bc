"""`caseledger subject erase`: crypto-shredding (擦除) of a data subject at one node.

Destroys the node's key of the person or organisation with this identity
number: every name, ID number, phone number and address sealed under it at
that node becomes unreadable, and every hash chain still verifies, because
the chain covers the sealed form.
"""

from __future__ import annotations

import click

from caseledger.cli.output import console, emit_json
from caseledger.cli.session import Session
from caseledger.cli.vocabulary import APPLICANT_TYPES, TermChoice
from caseledger.v1 import ledger_pb2


@click.group()
def subject() -> None:
    """Data subjects (个人信息主体): the people and organisations cases are about."""


@subject.command()
@click.option("--applicant-type", type=TermChoice(APPLICANT_TYPES), required=True)
@click.option("--id-number", required=True, help="GB 11643 citizen ID or GB 32100 credit code.")
@click.option(
    "--reason", required=True, help="Why, for the node's log (e.g. the request's number)."
)
@click.option("--request-id", help="Client request id (default: a new one).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@click.pass_obj
def erase(  # noqa: PLR0917 - click passes every option
    session: Session,
    applicant_type: int,
    id_number: str,
    reason: str,
    request_id: str | None,
    as_json: bool,
) -> None:
    """Destroy this node's key of a data subject; irreversible."""
    response = session.ledger.EraseSubject(
        ledger_pb2.EraseSubjectRequest(
            meta=session.meta(request_id),
            applicant_type=applicant_type,  # type: ignore[arg-type]
            id_number=id_number,
            reason=reason,
        ),
        timeout=session.timeout,
    )
    if as_json:
        emit_json({"subject": response.subject, "erased": True})
    else:
        console().print(f"erased data subject {response.subject} at {session.address}")
