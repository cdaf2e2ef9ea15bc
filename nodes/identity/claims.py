"""What an operator token says, and the rules its operator claims are held to.

A token's payload (RFC 7519 claims, times in whole seconds since the epoch):

    iss       the identity provider that issued it
    aud       the audience: the network (or node) it is meant for; a string or a list
    sub       the operator's id: a staff number or account (at most 64 characters)
    name      the operator's name (at most 200 characters)
    roles     the operator's roles, a non-empty list of role names (`window_clerk`...)
    division  the 12-digit division code of the unit the operator serves
    iat, exp  when it was issued and when it expires; `nbf` is optional
    jti       a unique id for the token (logs may quote it; the node does not track it)

The issuer (the development provider) and the verifier read the operator
claims with the same functions, so a token the provider makes always passes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from caseledger.ledger.codes.division import DivisionCode
from caseledger.ledger.errors import InvalidInput
from caseledger.nodes.identity.errors import IdentityError

ISSUER: Final = "iss"
AUDIENCE: Final = "aud"
SUBJECT: Final = "sub"
NAME: Final = "name"
ROLES: Final = "roles"
DIVISION: Final = "division"
ISSUED_AT: Final = "iat"
NOT_BEFORE: Final = "nbf"
EXPIRES: Final = "exp"
TOKEN_ID: Final = "jti"

# The same bounds the ledger puts on an operator's id and role in a command
# (ledger/limits.py), and on a person's name.
MAX_OPERATOR_ID: Final = 64
MAX_NAME: Final = 200
MAX_ROLES: Final = 32
ROLE_NAME: Final = re.compile(r"[a-z][a-z0-9_]{0,63}")
"""A role name: lower-case snake case, at most 64 characters, as the ledger records it."""


@dataclass(frozen=True)
class OperatorIdentity:
    """An operator whose token verified (统一身份认证): what a command's event records."""

    operator_id: str
    name: str
    roles: tuple[str, ...]
    division: DivisionCode
    """The unit the operator serves; it covers its own subtree."""
    issuer: str
    key_id: str
    """The `kid` of the provider key that signed the token."""
    expires_at: datetime
    """Timezone-aware, UTC."""


class ClaimFault(IdentityError):
    """An operator claim that is missing or ill-typed: `claim` names it."""

    def __init__(self, claim: str, why: str) -> None:
        self.claim = claim
        self.why = why
        super().__init__(f"{claim} {why}")


@dataclass(frozen=True)
class Operator:
    """The operator claims of a token, read and checked."""

    operator_id: str
    name: str
    roles: tuple[str, ...]
    division: DivisionCode


def read_operator(payload: Mapping[str, object]) -> Operator:
    """The operator claims of `payload`, or `ClaimFault` naming the first bad one."""
    return Operator(
        operator_id=_text(payload, SUBJECT, MAX_OPERATOR_ID),
        name=_text(payload, NAME, MAX_NAME),
        roles=_roles(payload.get(ROLES)),
        division=_division(payload.get(DIVISION)),
    )


def _text(payload: Mapping[str, object], claim: str, limit: int) -> str:
    value = payload.get(claim)
    if not isinstance(value, str):
        raise ClaimFault(claim, "must be a string" if claim in payload else "is missing")
    if not value.strip():
        raise ClaimFault(claim, "must not be blank")
    if len(value) > limit:
        raise ClaimFault(claim, f"has {len(value)} characters, more than {limit}")
    return value


def _roles(value: object) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        raise ClaimFault(ROLES, "must be a list of role names")
    if not value:
        raise ClaimFault(ROLES, "must name at least one role")
    if len(value) > MAX_ROLES:
        raise ClaimFault(ROLES, f"names {len(value)} roles, more than {MAX_ROLES}")
    roles: list[str] = []
    for role in value:
        if not isinstance(role, str) or ROLE_NAME.fullmatch(role) is None:
            raise ClaimFault(
                ROLES, f"holds {role!r:.70}, not a role name (lower-case letters, digits and _)"
            )
        if role in roles:
            raise ClaimFault(ROLES, f"names {role} twice")
        roles.append(role)
    return tuple(roles)


def _division(value: object) -> DivisionCode:
    # Only the 12-digit statistical form: a token is made by a program, which
    # can write the code the network is named by.
    if not isinstance(value, str):
        raise ClaimFault(DIVISION, "must be a 12-digit division code (a string)")
    try:
        return DivisionCode(value)
    except InvalidInput as error:
        raise ClaimFault(DIVISION, f"{value!r:.20} {error.violations[0].reason}") from error
