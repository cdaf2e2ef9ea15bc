"""Verifying an operator token: who is acting, as far as the network's identity
provider vouches for it.

The order of the checks is part of the contract, because it decides which
reason a token with several faults is refused for: size and shape, then the
algorithm and key (from the header, before any cryptography), the signature,
and only then the claims, read from a payload the provider is known to have
signed: issuer, audience, the validity period, the operator claims.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import jwt
from jwt.exceptions import InvalidSignatureError, PyJWTError
from jwt.types import Options

from caseledger.nodes.identity import claims
from caseledger.nodes.identity.claims import ClaimFault, OperatorIdentity
from caseledger.nodes.identity.errors import (
    TOKEN_AUDIENCE,
    TOKEN_BAD_SIGNATURE,
    TOKEN_CLAIMS,
    TOKEN_EXPIRED,
    TOKEN_ISSUER,
    TOKEN_MALFORMED,
    TOKEN_MISSING,
    TOKEN_NOT_YET_VALID,
    TOKEN_UNKNOWN_KEY,
    IdentityError,
    TokenRefused,
)
from caseledger.nodes.identity.keys import (
    ACCEPTED_ALGORITHMS,
    IgnoredKey,
    KeySet,
    VerifierKey,
    load_jwks,
)

MAX_TOKEN_BYTES: Final = 8192
"""A token with a few roles is under 1 KB; 8 KiB is what HTTP servers commonly
allow a whole header. Anything larger is refused before it is decoded."""
DEFAULT_LEEWAY: Final = timedelta(seconds=60)
"""How far the provider's clock and a node's may disagree: `exp` is honoured
this long after it passes, and `nbf`/`iat` this long before they arrive. The
nodes and the provider keep NTP time, which is well within a minute; the
leeway is not a grace period, so it is kept small."""
MAX_LEEWAY: Final = timedelta(minutes=5)

# PyJWT verifies the signature (with the algorithm bound to the key) and parses
# the payload; every claim is checked here, against the caller's `now`.
_SIGNATURE_ONLY: Final[Options] = {
    "verify_signature": True,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_aud": False,
    "verify_iss": False,
    "verify_sub": False,
    "verify_jti": False,
    "require": [],
}
_DECODER: Final = jwt.PyJWT()
_MAX_QUOTED: Final = 80


class TokenVerifier:
    """Checks operator tokens against a provider's keys, for one audience."""

    def __init__(
        self,
        keys: KeySet,
        *,
        audience: str,
        issuers: Collection[str],
        leeway: timedelta = DEFAULT_LEEWAY,
    ) -> None:
        if not audience.strip():
            raise IdentityError("the expected audience must not be blank")
        # A str is a Collection[str]: one issuer's name would read as its letters.
        if isinstance(issuers, str):
            raise IdentityError("issuers is a collection of issuer names, not one string")
        if not issuers or any(not issuer.strip() for issuer in issuers):
            raise IdentityError("at least one accepted issuer, none blank, is needed")
        if not timedelta(0) <= leeway <= MAX_LEEWAY:
            raise IdentityError(f"the leeway must be between 0 and {MAX_LEEWAY}")
        self.keys = keys
        self.audience = audience
        self.issuers = frozenset(issuers)
        self.leeway = leeway

    @classmethod
    def from_jwks_file(
        cls,
        path: Path,
        *,
        audience: str,
        issuers: Collection[str],
        leeway: timedelta = DEFAULT_LEEWAY,
    ) -> TokenVerifier:
        """A verifier of the keys in a JWKS file: the development provider's
        `identity-provider.jwks.json`, or a real provider's published key set."""
        return cls(load_jwks(path), audience=audience, issuers=issuers, leeway=leeway)

    def verify(self, token: str | None, now: datetime | None = None) -> OperatorIdentity:
        """The operator the token names, or `TokenRefused` saying why not."""
        if not token:
            raise TokenRefused(TOKEN_MISSING, "no operator token was presented")
        if len(token) > MAX_TOKEN_BYTES:
            raise TokenRefused(
                TOKEN_MALFORMED,
                f"the token has {len(token)} characters; at most {MAX_TOKEN_BYTES} are read",
            )
        if not token.isascii():
            raise TokenRefused(TOKEN_MALFORMED, "a compact token is ASCII only")
        if now is not None and now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        key = self._key_for(_header(token))
        payload = _signed_payload(token, key)
        at = now if now is not None else datetime.now(UTC)
        issuer = self._issuer(payload)
        self._check_audience(payload)
        expires = self._check_period(payload, at.timestamp())
        return _identity(payload, issuer, key.key_id, expires)

    def _key_for(self, header: Mapping[str, Any]) -> VerifierKey:
        algorithm = header.get("alg")
        if algorithm not in ACCEPTED_ALGORITHMS:
            raise TokenRefused(
                TOKEN_BAD_SIGNATURE,
                f"the token is signed with {_quoted(algorithm)}; "
                f"accepted are {', '.join(ACCEPTED_ALGORITHMS)}",
            )
        key_id = header.get("kid")
        if not isinstance(key_id, str) or not key_id:
            raise TokenRefused(TOKEN_UNKNOWN_KEY, "the token names no key (kid)")
        found = self.keys.find(key_id)
        if found is None:
            raise TokenRefused(
                TOKEN_UNKNOWN_KEY, f"no key {_quoted(key_id)} in the provider's JWKS"
            )
        if isinstance(found, IgnoredKey):
            raise TokenRefused(TOKEN_UNKNOWN_KEY, f"key {key_id!r} is not accepted: {found.why}")
        if algorithm != found.algorithm:
            raise TokenRefused(
                TOKEN_BAD_SIGNATURE,
                f"key {key_id!r} is an {found.algorithm} key; the token claims {algorithm}",
            )
        return found

    def _issuer(self, payload: Mapping[str, Any]) -> str:
        issuer = payload.get(claims.ISSUER)
        if not isinstance(issuer, str) or issuer not in self.issuers:
            accepted = ", ".join(sorted(self.issuers))
            raise TokenRefused(
                TOKEN_ISSUER,
                f"issuer {_quoted(issuer)} is not one this node accepts ({accepted})",
            )
        return issuer

    def _check_audience(self, payload: Mapping[str, Any]) -> None:
        audience = payload.get(claims.AUDIENCE)
        named = [audience] if isinstance(audience, str) else audience
        if not isinstance(named, list) or self.audience not in named:
            raise TokenRefused(
                TOKEN_AUDIENCE,
                f"the token is for {_quoted(audience)}, not for {self.audience!r}",
            )

    def _check_period(self, payload: Mapping[str, Any], now: float) -> datetime:
        """The expiry, once the token is inside its validity period at `now`."""
        leeway = self.leeway.total_seconds()
        expires = _time(payload, claims.EXPIRES)
        if expires is None:
            raise TokenRefused(TOKEN_CLAIMS, f"{claims.EXPIRES} is missing: a token must expire")
        if expires <= now - leeway:
            raise TokenRefused(TOKEN_EXPIRED, f"the token expired at {_shown(expires)}")
        for name in (claims.NOT_BEFORE, claims.ISSUED_AT):
            start = _time(payload, name)
            if start is not None and start > now + leeway:
                raise TokenRefused(
                    TOKEN_NOT_YET_VALID,
                    f"the token's {name} is {_shown(start)}, in the future: a clock is wrong",
                )
        return datetime.fromtimestamp(expires, UTC)


def _header(token: str) -> Mapping[str, Any]:
    try:
        return jwt.get_unverified_header(token)
    except PyJWTError as error:
        raise TokenRefused(TOKEN_MALFORMED, f"not a signed token: {error}") from error


def _signed_payload(token: str, key: VerifierKey) -> Mapping[str, Any]:
    try:
        decoded = _DECODER.decode_complete(
            token, key=key.jwk, algorithms=[key.algorithm], options=_SIGNATURE_ONLY
        )
    except InvalidSignatureError as error:
        raise TokenRefused(
            TOKEN_BAD_SIGNATURE, f"the signature does not verify under key {key.key_id!r}"
        ) from error
    except PyJWTError as error:
        raise TokenRefused(TOKEN_MALFORMED, f"not a signed token: {error}") from error
    payload: Mapping[str, Any] = decoded["payload"]
    return payload


def _time(payload: Mapping[str, Any], name: str) -> int | None:
    value = payload.get(name)
    if value is None:
        return None
    # bool is an int in Python, and JSON's true is no time.
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**40:
        raise TokenRefused(
            TOKEN_CLAIMS, f"{name} must be a time in whole seconds, not {_quoted(value)}"
        )
    return value


def _quoted(value: object) -> str:
    """A value from the token, for a refusal's detail: logged and sent back, so
    it is cut short (a token may be 8 KiB) and its control characters escaped."""
    shown = repr(value)
    return shown if len(shown) <= _MAX_QUOTED else shown[: _MAX_QUOTED - 1] + "…"


def _shown(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def _identity(
    payload: Mapping[str, Any], issuer: str, key_id: str, expires: datetime
) -> OperatorIdentity:
    try:
        operator = claims.read_operator(payload)
    except ClaimFault as fault:
        raise TokenRefused(TOKEN_CLAIMS, str(fault)) from fault
    return OperatorIdentity(
        operator_id=operator.operator_id,
        name=operator.name,
        roles=operator.roles,
        division=operator.division,
        issuer=issuer,
        key_id=key_id,
        expires_at=expires,
    )
