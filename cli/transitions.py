"""What the command line can tell an operator after a refusal: which commands a
case's status allows.

The node names the refused command and the case's status in its ErrorInfo
(`command`, `status`, the ledger's own spellings). The command line may not
import the ledger, so it keeps its own copy of the ledger's transition table,
keyed by those spellings and naming `caseledger case` subcommands; a test
holds the copy to the ledger's table. The table says what a status allows at
all: a guard (a correction requested once only, mailing after the
certificate) may still refuse one of them.
"""

from __future__ import annotations

from caseledger.cli.vocabulary import CASE_STATUSES
from caseledger.v1 import types_pb2 as pb

COMMAND_NAMES: dict[str, str] = {
    "pass_pre_review": "pre-review-pass",
    "return_pre_review": "pre-review-return",
    "request_correction": "request-correction",
    "supplement_materials": "supplement",
    "accept": "accept",
    "refuse_acceptance": "refuse",
    "record_step": "step",
    "start_special_procedure": "special-start",
    "end_special_procedure": "special-end",
    "suspend": "suspend",
    "resume": "resume",
    "extend_deadline": "extend",
    "conclude": "conclude",
    "issue_certificate": "certificate",
    "dispatch_by_mail": "mail",
    "collect_at_window": "collect",
    "confirm_delivery": "delivered",
    "withdraw": "withdraw",
    "rate": "rate",
    "record_rectification": "rectify",
    "request_transfer": "transfer",
}
"""The ledger's command names (as the node reports them) and the `caseledger case`
subcommand of each; submitting and answering a transfer are no command on a case."""

_BEFORE_ACCEPTANCE = ("request-correction", "accept", "refuse")
_HANDLING = ("step", "special-start", "suspend", "extend", "conclude", "withdraw", "transfer")
_AFTER_DECISION = ("mail", "collect", "delivered", "rate", "rectify", "transfer")

ALLOWED_BY_STATUS: dict[str, tuple[str, ...]] = {
    "submitted": (
        "pre-review-pass",
        "pre-review-return",
        *_BEFORE_ACCEPTANCE,
        "withdraw",
        "transfer",
    ),
    "pre_reviewed": (*_BEFORE_ACCEPTANCE, "withdraw", "transfer"),
    "awaiting_correction": ("supplement", "conclude", "withdraw", "transfer"),
    "returned": ("rate", "rectify"),
    "accepted": _HANDLING,
    "in_process": _HANDLING,
    "special_procedure": ("special-end", "withdraw", "transfer"),
    "suspended": ("resume", "withdraw", "transfer"),
    "concluded": ("certificate", *_AFTER_DECISION),
    "refused": ("mail", "collect", "delivered", "rate", "rectify"),
    "withdrawn": (),
}
"""The `caseledger case` subcommands each status (the ledger's spelling) allows at all."""

_STATUS_VALUES: dict[str, int] = {
    "submitted": pb.CASE_STATUS_SUBMITTED,
    "pre_reviewed": pb.CASE_STATUS_PRE_REVIEWED,
    "awaiting_correction": pb.CASE_STATUS_AWAITING_CORRECTION,
    "returned": pb.CASE_STATUS_RETURNED,
    "accepted": pb.CASE_STATUS_ACCEPTED,
    "refused": pb.CASE_STATUS_REFUSED,
    "in_process": pb.CASE_STATUS_IN_PROCESS,
    "special_procedure": pb.CASE_STATUS_SPECIAL_PROCEDURE,
    "suspended": pb.CASE_STATUS_SUSPENDED,
    "concluded": pb.CASE_STATUS_CONCLUDED,
    "withdrawn": pb.CASE_STATUS_WITHDRAWN,
}


def status_text(status: str) -> str:
    """`已撤件 withdrawn`: the label an operator reads and the ledger's word."""
    label = CASE_STATUSES.label(_STATUS_VALUES.get(status, 0))
    return f"{label} {status}" if label else status


def command_name(ledger_command: str) -> str:
    """The `caseledger case` subcommand for a command the node names."""
    return COMMAND_NAMES.get(ledger_command, ledger_command)


def next_actions(status: str, refused: str = "") -> tuple[str, ...] | None:
    """The subcommands `status` allows other than the refused one; None for a
    status this table does not know (a newer node's)."""
    allowed = ALLOWED_BY_STATUS.get(status)
    if allowed is None:
        return None
    return tuple(
        f"{name} (online submissions)" if name in _ONLINE_ONLY else name
        for name in allowed
        if name != command_name(refused)
    )


_ONLINE_ONLY = frozenset({"pre-review-pass", "pre-review-return"})
"""Allowed in `submitted` for a submission made online only (a window clerk
checks the materials in front of the applicant: there is no pre-review)."""
