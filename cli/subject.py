"""`caseledger subject erase`: crypto-shredding (擦除) of a data subject at one node.

Destroys the node's key of the person or organisation with this identity
number: every name, ID number, phone number and address sealed under it at
that node becomes unreadable, and every hash chain still verifies, because
the chain covers the sealed form.
"""

from __future__ import annotations

import click

from caseledger.cli.output import console, emit_json, error_console
from caseledger.cli.session import Session
from caseledger.cli.vocabulary import APPLICANT_TYPES, TermChoice
from caseledger.v1 import ledger_pb2


@click.group()
def subject() -> None:
    """Data subjects (个人信息主体): the people and organisations cases are about."""


@subject.command()
@click.option("--applicant-type", type=TermChoice(APPLICANT_TYPES), required=True)
@click.option(
    "--id-number",
    required=True,
    help="Citizen ID (GB 11643, 18 characters, the last a check digit or X) or unified social "
    "credit code (GB 32100, 18 characters, the last a check character).",
)
@click.option(
    "--reason", required=True, help="Why, for the node's log (e.g. the request's number)."
)
@click.option("--request-id", help="Client request id (default: a new one).")
@click.option("--yes", is_flag=True, help="Erase without asking (for scripts); there is no undo.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@click.pass_obj
def erase(  # noqa: PLR0917 - click passes every option
    session: Session,
    applicant_type: int,
    id_number: str,
    reason: str,
    request_id: str | None,
    yes: bool,
    as_json: bool,
) -> None:
    """Destroy this node's key of a data subject; irreversible, so it asks first.

    Every name, ID number, phone number and address sealed under the key at
    this node becomes unreadable in every case of the subject there; the
    trails still verify. The node reports afterwards how many of the cases
    submitted there that touched.
    """
    if not yes:
        _confirm(session.address, applicant_type, id_number)
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
        emit_json({"subject": response.subject, "erased": True, "cases": response.cases})
    else:
        console().print(
            f"erased data subject {response.subject} at {session.address}: "
            f"{response.cases} case(s) submitted there are about this subject"
        )


def _confirm(address: str, applicant_type: int, id_number: str) -> None:
    kind = APPLICANT_TYPES.label(applicant_type)
    error_console().print(
        f"擦除 erase: node {address} destroys its key of the {kind} {_masked(id_number)}. "
        "The personal data sealed under it (name, ID number, phone, address) becomes "
        "unreadable for good in every case of this subject at that node; how many cases "
        "that touched, the node says afterwards."
    )
    try:
        click.confirm("Erase it?", abort=True, err=True)
    except click.Abort:
        raise click.ClickException("not erased (confirm at the prompt, or pass --yes)") from None


def _masked(id_number: str) -> str:
    """Enough of the number to recognise it, not enough to copy it from a screen."""
    text = id_number.strip()
    if len(text) <= 8:
        return "*" * len(text)
    return f"{text[:6]}{'*' * (len(text) - 10)}{text[-4:]}"
