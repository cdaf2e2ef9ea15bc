"""The root of the identity package's errors, and the two refusals a node answers with.

A refusal carries a stable `reason` (one of the constants below) for the gRPC
layer to put in its ErrorInfo, and a `detail` for a person: the servicers map
`TokenRefused` to UNAUTHENTICATED and `PermissionRefused` to PERMISSION_DENIED.
"""

from __future__ import annotations

from typing import Final

TOKEN_MISSING: Final = "TOKEN_MISSING"
"""No token was presented, or an empty one."""
TOKEN_MALFORMED: Final = "TOKEN_MALFORMED"
"""Not a compact JWS: too large, not three base64url parts, a header or payload
that is not a JSON object."""
TOKEN_EXPIRED: Final = "TOKEN_EXPIRED"
"""Its `exp` has passed (beyond the leeway)."""
TOKEN_NOT_YET_VALID: Final = "TOKEN_NOT_YET_VALID"
"""Its `nbf` or `iat` lies in the future (beyond the leeway): a clock is wrong."""
TOKEN_UNKNOWN_KEY: Final = "TOKEN_UNKNOWN_KEY"
"""Its `kid` names no key of the node's JWKS (or a key the node does not accept)."""
TOKEN_BAD_SIGNATURE: Final = "TOKEN_BAD_SIGNATURE"
"""The signature does not verify under the named key, or the token's algorithm
is not one the node accepts (`none`, HS256, ...) or not the key's."""
TOKEN_AUDIENCE: Final = "TOKEN_AUDIENCE"
"""Its `aud` is missing or does not name this node's audience."""
TOKEN_ISSUER: Final = "TOKEN_ISSUER"
"""Its `iss` is missing or not an issuer the node accepts."""
TOKEN_CLAIMS: Final = "TOKEN_CLAIMS"
"""An operator claim is missing or ill-typed (`sub`, `name`, `roles`,
`division`, the times), or the division is not a division code."""

TOKEN_REASONS: Final = frozenset(
    {
        TOKEN_MISSING,
        TOKEN_MALFORMED,
        TOKEN_EXPIRED,
        TOKEN_NOT_YET_VALID,
        TOKEN_UNKNOWN_KEY,
        TOKEN_BAD_SIGNATURE,
        TOKEN_AUDIENCE,
        TOKEN_ISSUER,
        TOKEN_CLAIMS,
    }
)

ROLE: Final = "ROLE"
"""No role of the operator may issue the command."""
JURISDICTION: Final = "JURISDICTION"
"""The operator's division does not cover the division that owns the case."""

PERMISSION_REASONS: Final = frozenset({ROLE, JURISDICTION})


class IdentityError(Exception):
    """Something the identity package cannot do: a missing or malformed key,
    JWKS or role file, a bad argument to the development provider."""


class TokenRefused(IdentityError):
    """The token does not establish who the operator is (UNAUTHENTICATED)."""

    def __init__(self, reason: str, detail: str) -> None:
        if reason not in TOKEN_REASONS:
            raise ValueError(f"{reason!r} is not a token refusal reason")
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


class PermissionRefused(IdentityError):
    """The operator is known but may not do this (PERMISSION_DENIED)."""

    def __init__(self, reason: str, detail: str) -> None:
        if reason not in PERMISSION_REASONS:
            raise ValueError(f"{reason!r} is not a permission refusal reason")
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")
