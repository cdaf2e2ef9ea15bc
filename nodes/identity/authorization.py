"""May this operator issue this command on this case? Role, then jurisdiction.

Jurisdiction is the network's one rule (docs/architecture.md): a division
covers itself and its subtree, so an operator of 济南市 (3701) may act on a
case owned by 历下区 (370102) or 平阴县 (370124), an operator of 历下区 on
neither 平阴县's cases nor 济南市's own, and the province's on every case.
"""

from __future__ import annotations

from dataclasses import dataclass

from caseledger.ledger.codes.division import DivisionCode
from caseledger.nodes.identity.claims import OperatorIdentity
from caseledger.nodes.identity.errors import JURISDICTION, ROLE, PermissionRefused
from caseledger.nodes.identity.roles import COMMANDS, DEFAULT_TABLE, RoleTable


@dataclass(frozen=True)
class Decision:
    """An operator allowed a command: what the event records beside the identity."""

    operator: OperatorIdentity
    command: str
    role: str
    """The role the command is issued in: the first of the operator's roles,
    in the token's order, that may issue it."""
    case_owner: DivisionCode


def authorize(
    identity: OperatorIdentity,
    command: str,
    case_owner_code: DivisionCode | str,
    table: RoleTable = DEFAULT_TABLE,
) -> Decision:
    """Allow `command`, or raise `PermissionRefused` (ROLE, then JURISDICTION).

    `case_owner_code` is the division of the node that owns the case the
    command acts on. A command that starts a case (Submit) or acts on the node
    itself rather than on a case (EraseSubject, PublishItem, ListQuarantined,
    Ping) passes the node's own code: the operator must serve that node's
    division or one above it. `command` is an RPC name; any other name is a
    mistake of the caller (`ValueError`), not a refusal.
    """
    if command not in COMMANDS:
        raise ValueError(f"{command!r} is not a command of the API")
    owner = (
        case_owner_code
        if isinstance(case_owner_code, DivisionCode)
        else DivisionCode.parse(case_owner_code, "case_owner_code")
    )
    role = next((role for role in identity.roles if table.may(role, command)), None)
    if role is None:
        allowed = table.roles_for(command)
        raise PermissionRefused(
            ROLE,
            f"{command} is for {', '.join(allowed) or 'no role'}; "
            f"operator {identity.operator_id} holds {', '.join(identity.roles)}",
        )
    if not identity.division.contains(owner):
        raise PermissionRefused(
            JURISDICTION,
            f"operator {identity.operator_id} serves {identity.division}, "
            f"which does not cover {owner}, the case's owner",
        )
    return Decision(identity, command, role, owner)
