"""Who acts in a call from a client: the operator its signed token names (统一身份认证).

A client (a window system, an auditor's CLI) presents, besides its certificate, a
token from the network's identity provider. The node verifies it (signature,
expiry, audience, issuer) and then decides the call:

- an operator's own token: one of its roles must be allowed the command by the role
  table, and its division must cover this node (a node writes only the cases it
  owns, so covering the node is covering the case's owner); the event records
  the operator the token names, in the role that allowed the command;
- a machine account's token (role `system`, e.g. a window system 综合受理系统 that
  signs its clerks in itself): it acts for the operator the request names,
  within its own division; the event records that operator and, beside them,
  the account that vouched. Erasing a data subject is never delegated: the
  operator named must be a data-protection officer.

Either way the event carries the token's issuer and key id, so an auditor can
tell which provider and key vouched for every step.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from caseledger.ledger.case.base import Authentication
from caseledger.ledger.codes.division import DivisionCode
from caseledger.nodes.identity import (
    COMMANDS,
    JURISDICTION,
    ROLE,
    SYSTEM,
    OperatorIdentity,
    PermissionRefused,
    RoleTable,
    TokenRefused,
    TokenVerifier,
    authorize,
)
from caseledger.nodes.identity.roles import ERASE_SUBJECT, ERASERS

BEARER = "bearer "
_CACHE = 512


@dataclass(frozen=True)
class Acting:
    """The verified operator of a call, and how it acts."""

    identity: OperatorIdentity
    role: str
    """The role that allowed the command (an operator's own token), or `system`."""
    on_behalf: bool
    """A machine account acting for the operator the request names."""

    def authentication(self) -> Authentication:
        return Authentication(
            issuer=self.identity.issuer,
            key_id=self.identity.key_id,
            subject=self.identity.operator_id,
            division=str(self.identity.division),
        )


def bearer_token(metadata: Sequence[tuple[str, str | bytes]]) -> str | None:
    """The token of an `authorization: Bearer ...` header, if the call has one."""
    for key, value in metadata:
        if (
            key == "authorization"
            and isinstance(value, str)
            and value[: len(BEARER)].lower() == BEARER
        ):
            return value[len(BEARER) :].strip()
    return None


class Operators:
    def __init__(self, verifier: TokenVerifier, table: RoleTable, node: str) -> None:
        self._verifier = verifier
        self._table = table
        self._node = DivisionCode.parse(node)
        # Verifying a signature per call is the cost of a call; a token is
        # verified once and its identity kept (its expiry is checked every time).
        self._verified: OrderedDict[str, OperatorIdentity] = OrderedDict()
        self._lock = threading.Lock()

    def acting(self, token: str | None, rpc: str, named_role: str | None = None) -> Acting:
        """Admit the call `rpc` by the token's operator, or raise TokenRefused /
        PermissionRefused. `named_role` is the role the request names, for a
        machine account acting for an operator."""
        identity = self._identity(token)
        if SYSTEM in identity.roles:
            if not identity.division.contains(self._node):
                raise PermissionRefused(
                    JURISDICTION,
                    f"account {identity.operator_id} serves {identity.division}, which does "
                    f"not cover this node ({self._node})",
                )
            # The request's own fields are checked after the gate: the named role is
            # judged where the servicer has read it (None: not yet known).
            if rpc == ERASE_SUBJECT and named_role is not None and named_role not in ERASERS:
                raise PermissionRefused(
                    ROLE,
                    f"{rpc} is for {', '.join(sorted(ERASERS))} only, "
                    f"not {named_role or 'no role'}",
                )
            return Acting(identity, SYSTEM, on_behalf=True)
        if rpc in COMMANDS:
            decision = authorize(identity, rpc, self._node, self._table)
            return Acting(identity, decision.role, on_behalf=False)
        # A read outside the command table (audit, log, reports): any role, in the
        # operator's jurisdiction.
        if not identity.division.contains(self._node):
            raise PermissionRefused(
                JURISDICTION,
                f"operator {identity.operator_id} serves {identity.division}, which does not "
                f"cover this node ({self._node})",
            )
        return Acting(identity, identity.roles[0] if identity.roles else "", on_behalf=False)

    def _identity(self, token: str | None) -> OperatorIdentity:
        now = datetime.now(UTC)
        if token is not None:
            with self._lock:
                known = self._verified.get(token)
            if known is not None and now < known.expires_at:
                return known
        identity = self._verifier.verify(token, now)
        assert token is not None  # verify refuses a missing token
        with self._lock:
            self._verified[token] = identity
            if len(self._verified) > _CACHE:
                self._verified.popitem(last=False)
        return identity


__all__ = ["Acting", "Operators", "PermissionRefused", "TokenRefused", "bearer_token"]
