"""`caseledger case`: drive a case (办件) through its lifecycle, and show it.

Each command is one row of `COMMANDS`; `requests.CaseCommand` makes the
click command from it. CASE is a case id or a case number (办件编号).
"""

from __future__ import annotations

import click
import grpc
from rich.markup import escape

from caseledger.cli.case_find import list_cases, search
from caseledger.cli.case_record import Entry, record
from caseledger.cli.case_view import case_document, case_panel, record_table
from caseledger.cli.output import console, emit_json
from caseledger.cli.params import CalendarDate, Digest, MaterialDigest, MaterialFile
from caseledger.cli.params import MaterialToCorrect as Correction
from caseledger.cli.requests import CaseCommand, option
from caseledger.cli.session import Session
from caseledger.cli.vocabulary import (
    APPLICANT_TYPES,
    CONCLUSION_RESULTS,
    RATING_CHANNELS,
    SATISFACTIONS,
    SPECIAL_PROCEDURE_KINDS,
    STEP_ACTIONS,
    SUBMISSION_CHANNELS,
    TRANSFER_OUTCOMES,
    TermChoice,
    Vocabulary,
)
from caseledger.v1 import ledger_pb2 as pb

_MATERIALS = (
    option(
        "--material",
        "A material as NAME=SHA256 (repeatable).",
        target="materials",
        type=MaterialDigest(),
        multiple=True,
    ),
    option(
        "--material-file",
        "A material file; its name and SHA-256 are taken from it (repeatable).",
        target="materials",
        type=MaterialFile(),
        multiple=True,
    ),
)

COMMANDS = (
    CaseCommand(
        "submit",
        rpc="Submit",
        request_type=pb.SubmitRequest,
        done="submitted",
        help="申报/收件: open a case for a catalogue item.",
        options=(
            option(
                "--item",
                "Implementation code (实施编码) of a published item: 31 characters, the "
                "implementing body's credit code (18, its last a check character), the "
                "exercising level (1) and the basic code (12). See docs/items.md.",
                target="item_code",
                required=True,
            ),
            option(
                "--channel",
                "Where it was submitted.",
                type=TermChoice(SUBMISSION_CHANNELS),
                required=True,
            ),
            option(
                "--applicant-type",
                "申请人类型.",
                target="applicant.type",
                type=TermChoice(APPLICANT_TYPES),
                required=True,
            ),
            option("--name", "Applicant's name.", target="applicant.name", required=True),
            option(
                "--id-number",
                "Citizen ID (18 characters, the last a check digit or X) or unified "
                "social credit code (18 characters, the last a check character).",
                target="applicant.id_number",
                required=True,
            ),
            option("--phone", "Applicant's phone.", target="applicant.phone"),
            option("--address", "Applicant's address.", target="applicant.address"),
            *_MATERIALS,
        ),
        on_case=False,
    ),
    CaseCommand(
        "pre-review-pass",
        rpc="PassPreReview",
        request_type=pb.PassPreReviewRequest,
        done="pre-review passed",
        help="预审通过: an online submission passes pre-review.",
        options=(option("--opinion", "Reviewer's opinion.", required=True),),
    ),
    CaseCommand(
        "pre-review-return",
        rpc="ReturnPreReview",
        request_type=pb.ReturnPreReviewRequest,
        done="pre-review returned",
        help="预审退回: an online submission is sent back.",
        options=(option("--reason", "Why it is returned.", required=True),),
    ),
    CaseCommand(
        "request-correction",
        rpc="RequestCorrection",
        request_type=pb.RequestCorrectionRequest,
        done="correction requested",
        help="补齐补正告知: list every material to supply or correct, once.",
        options=(
            option(
                "--material",
                "A material to correct, as NAME=REASON (repeatable).",
                target="materials",
                type=Correction(),
                required=True,
                multiple=True,
            ),
        ),
    ),
    CaseCommand(
        "supplement",
        rpc="SupplementMaterials",
        request_type=pb.SupplementMaterialsRequest,
        done="materials supplemented",
        help="补正材料: the applicant supplies the corrected materials.",
        options=_MATERIALS,
    ),
    CaseCommand(
        "accept",
        rpc="Accept",
        request_type=pb.AcceptRequest,
        done="accepted",
        help="受理: accept the case; its type and time limits come from the item.",
        options=(option("--notice-no", "Acceptance notice number (受理文书编号).", required=True),),
    ),
    CaseCommand(
        "refuse",
        rpc="RefuseAcceptance",
        request_type=pb.RefuseAcceptanceRequest,
        done="acceptance refused",
        help="不予受理: refuse to accept, with reason and legal basis.",
        options=(
            option("--notice-no", "Refusal notice number.", required=True),
            option("--reason", "Why it is refused.", required=True),
            option("--legal-basis", "The provision it rests on.", required=True),
        ),
    ),
    CaseCommand(
        "step",
        rpc="RecordStep",
        request_type=pb.RecordStepRequest,
        done="step recorded",
        help="办理环节: record a processing step (审查/审核/审批/决定).",
        options=(
            option("--step", "Name of the step, e.g. 审查.", required=True),
            option("--handler", "Who handled it.", required=True),
            option("--opinion", "The handler's opinion."),
            option(
                "--action", "Pass it on or return it.", type=TermChoice(STEP_ACTIONS), required=True
            ),
        ),
    ),
    CaseCommand(
        "special-start",
        rpc="StartSpecialProcedure",
        request_type=pb.StartSpecialProcedureRequest,
        done="special procedure started",
        help="特别程序开始: the clock stops.",
        options=(
            option(
                "--kind",
                "Which procedure.",
                type=TermChoice(SPECIAL_PROCEDURE_KINDS),
                required=True,
            ),
            option("--reason", "Why it is needed.", required=True),
        ),
    ),
    CaseCommand(
        "special-end",
        rpc="EndSpecialProcedure",
        request_type=pb.EndSpecialProcedureRequest,
        done="special procedure ended",
        help="特别程序结束: the clock runs again.",
        options=(option("--outcome", "What the procedure found.", required=True),),
    ),
    CaseCommand(
        "suspend",
        rpc="Suspend",
        request_type=pb.SuspendRequest,
        done="suspended",
        help="挂起: suspend processing.",
        options=(option("--reason", "Why it is suspended.", required=True),),
    ),
    CaseCommand(
        "resume",
        rpc="Resume",
        request_type=pb.ResumeRequest,
        done="resumed",
        help="恢复: resume processing.",
        options=(option("--note", "A note on the resumption."),),
    ),
    CaseCommand(
        "extend",
        rpc="ExtendDeadline",
        request_type=pb.ExtendDeadlineRequest,
        done="deadline extended",
        help="延期: extend the limits by 10 working days, once.",
        options=(
            option("--approved-by", "Who approved the extension.", required=True),
            option("--reason", "Why it is needed.", required=True),
        ),
    ),
    CaseCommand(
        "conclude",
        rpc="Conclude",
        request_type=pb.ConcludeRequest,
        done="concluded",
        help="办结: decide the case.",
        options=(
            option("--result", "The decision.", type=TermChoice(CONCLUSION_RESULTS), required=True),
            option("--decision-no", "Decision document number."),
            option("--note", "A note on the decision."),
        ),
    ),
    CaseCommand(
        "certificate",
        rpc="IssueCertificate",
        request_type=pb.IssueCertificateRequest,
        done="certificate issued",
        help="出证: issue the licence of an approved case, once.",
        options=(
            option(
                "--licence-id",
                "Electronic licence id (电子证照标识, GB/T 36904): 1.2.156.3005.2.<type>."
                "<issuer credit code>.<serial>.<3-digit version>.<check character>, e.g. "
                "1.2.156.3005.2.JY.11370102MB28590137.23701020000001.001.N.",
                required=True,
            ),
            option("--file-sha256", "SHA-256 of the licence file.", type=Digest(), required=True),
            option("--valid-from", "First valid day.", type=CalendarDate(), required=True),
            option("--valid-until", "Last valid day; none: no expiry.", type=CalendarDate()),
        ),
    ),
    CaseCommand(
        "mail",
        rpc="DispatchByMail",
        request_type=pb.DispatchByMailRequest,
        done="dispatched by mail",
        help="邮寄送达: mail the result.",
        options=(
            option("--carrier", "Postal carrier.", required=True),
            option("--tracking-no", "Tracking number.", required=True),
            option("--address", "Delivery address.", required=True),
        ),
    ),
    CaseCommand(
        "collect",
        rpc="CollectAtWindow",
        request_type=pb.CollectAtWindowRequest,
        done="collected at the window",
        help="窗口领取: the result is collected at the window.",
        options=(option("--signer", "Who signed for it.", required=True),),
    ),
    CaseCommand(
        "delivered",
        rpc="ConfirmDelivery",
        request_type=pb.ConfirmDeliveryRequest,
        done="delivery confirmed",
        help="签收: the mailed result was received.",
        options=(
            option("--signer", "Who signed for it.", required=True),
            option(
                "--received-on",
                "Day of receipt, YYYY-MM-DD: not in the future, not before the mailing.",
                type=CalendarDate(),
                required=True,
            ),
        ),
    ),
    CaseCommand(
        "withdraw",
        rpc="Withdraw",
        request_type=pb.WithdrawRequest,
        done="withdrawn",
        help="撤件: the applicant withdraws the case before conclusion.",
        options=(option("--reason", "Why it is withdrawn.", required=True),),
    ),
    CaseCommand(
        "rate",
        rpc="Rate",
        request_type=pb.RateRequest,
        done="rated",
        help="好差评: the applicant rates the service, once.",
        options=(
            option(
                "--satisfaction",
                "1 (非常满意) .. 5 (非常不满意), or the level's name.",
                type=TermChoice(SATISFACTIONS),
                required=True,
            ),
            option(
                "--channel",
                "Where the rating was given.",
                type=TermChoice(RATING_CHANNELS),
                required=True,
            ),
            option("--comment", "The applicant's words."),
            option("--detail", "A chosen detail (repeatable).", target="details", multiple=True),
        ),
    ),
    CaseCommand(
        "transfer",
        rpc="Transfer",
        request_type=pb.TransferRequest,
        done="transfer requested",
        help="转报/下发/跨域: hand the case to another node (up, down or sideways).",
        options=(
            option(
                "--target",
                "12-digit division code (GB/T 2260 and township digits) of the node to "
                "take the case, e.g. 370100000000.",
                required=True,
            ),
            option("--reason", "Why it moves.", required=True),
        ),
        answer=lambda response: {
            "outcome": _term_name(TRANSFER_OUTCOMES, response.outcome),
            "owner": response.owner,
        },
    ),
    CaseCommand(
        "rectify",
        rpc="RecordRectification",
        request_type=pb.RecordRectificationRequest,
        done="rectification recorded",
        help="差评整改: answer a bad rating and record the fix.",
        options=(
            option("--response", "The answer to the applicant.", required=True),
            option("--fix", "What was changed.", required=True),
        ),
    ),
)


def _term_name(vocabulary: Vocabulary, value: int) -> str:
    return next((term.name for term in vocabulary if term.value == value), str(value))


@click.group()
def case() -> None:
    """Drive a case (办件) and show it.

    CASE is the case's id (a UUID) or its 26-digit case number (办件编号): the
    receiving node's 12-digit division code, the date of receipt as YYYYMMDD
    and a 6-digit serial, e.g. 37010200000020261201000001.
    """


for _command in COMMANDS:
    case.add_command(_command.click_command())
case.add_command(search)
case.add_command(list_cases)


@case.command()
@click.argument("case_ref", metavar="CASE")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@click.pass_obj
def show(session: Session, case_ref: str, as_json: bool) -> None:
    """Show a case: where it stands, and every fact its trail records
    (materials, corrections, steps with handlers and opinions, decisions,
    certificate, delivery, suspensions, rating and rectification).
    Personal data stays masked or sealed.

    CASE is its id (a UUID) or its 26-digit case number (办件编号: the
    receiving node's 12-digit division code, the date as YYYYMMDD, a 6-digit
    serial, e.g. 37010200000020261201000001).

    A deadline counted into a year whose official holiday arrangement the
    node has not loaded is marked provisional: its dates may still move.
    """
    view = session.ledger.GetCase(pb.GetCaseRequest(case=case_ref), timeout=session.timeout).case
    entries, missing = _record(session, view.case_id or case_ref)
    required = _required_materials(session, view.item_code)
    if as_json:
        emit_json(case_document(view, entries, missing, required))
        return
    out = console()
    out.print(case_panel(view, entries, required))
    if entries:
        out.print(record_table(entries))
    if missing:
        out.print(f"记录 record not shown: {escape(missing)}")


def _required_materials(session: Session, item_code: str) -> list[str] | None:
    """The item's required materials as this node's catalogue lists them today;
    None where the node cannot say (the comparison is then left out)."""
    if not item_code:
        return None
    try:
        response = session.ledger.GetItem(
            pb.GetItemRequest(implementation_code=item_code), timeout=session.timeout
        )
    except grpc.RpcError:
        return None
    return list(response.terms.required_materials)


def _record(session: Session, case_ref: str) -> tuple[list[Entry], str]:
    """The trail's facts, or why they cannot be shown (the case view still can)."""
    try:
        response = session.ledger.ListCaseEvents(
            pb.ListCaseEventsRequest(case=case_ref), timeout=session.timeout
        )
    except grpc.RpcError as error:
        code = error.code().name if isinstance(error, grpc.Call) else "UNKNOWN"
        detail = error.details() if isinstance(error, grpc.Call) else ""
        return [], f"the node did not send the trail ({code}: {detail})"
    return record(list(response.events)), ""
