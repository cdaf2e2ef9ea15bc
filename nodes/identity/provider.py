"""The development identity provider: one Ed25519 key in a folder, and the
tokens it signs (`caseledger identity init|issue`).

A network in production plugs in its real provider (统一身份认证平台) by giving
the nodes that provider's JWKS; this one exists so a developer, a test or the
demo can have signed operator tokens without one. Its folder (the PKI folder
will do; the names do not clash with the CA's):

    identity-provider.key         the signing key (Ed25519, PKCS#8 PEM, mode 0600)
    identity-provider.jwks.json   its public key as a JWKS, `kid` the RFC 7638 thumbprint
"""

from __future__ import annotations

import json
import stat
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from jwt.algorithms import OKPAlgorithm

from caseledger.nodes.identity import claims
from caseledger.nodes.identity.errors import IdentityError
from caseledger.nodes.identity.keys import EDDSA, thumbprint
from caseledger.nodes.trust.layout import write_atomically, write_private_key

SIGNING_KEY: Final = "identity-provider.key"
JWKS: Final = "identity-provider.jwks.json"

DEVELOPMENT_ISSUER: Final = "urn:caseledger:identity:development"
"""The issuer the development provider names itself by, unless told otherwise."""
DEFAULT_LIFETIME: Final = timedelta(hours=8)
"""A working day's shift: an operator signs in in the morning."""
MAX_LIFETIME: Final = timedelta(hours=24)
"""Longer-lived tokens outlast a revoked account by too much; no refresh exists here."""


@dataclass(frozen=True)
class ProviderFolder:
    root: Path

    @property
    def signing_key(self) -> Path:
        return self.root / SIGNING_KEY

    @property
    def jwks(self) -> Path:
        return self.root / JWKS


@dataclass(frozen=True)
class Provider:
    """A development provider as made or loaded: where its files are, its key's id."""

    folder: ProviderFolder
    key_id: str


def init_provider(folder: Path) -> Provider:
    """Make the provider's signing key and its JWKS in `folder`; refuse a folder
    that already has a provider key (the tokens it signed would stop verifying)."""
    files = ProviderFolder(folder)
    if files.signing_key.exists():
        raise IdentityError(f"{files.signing_key} exists: {folder} already holds a provider")
    key = Ed25519PrivateKey.generate()
    public = OKPAlgorithm.to_jwk(key.public_key(), as_dict=True)
    key_id = thumbprint(public)
    jwks = {"keys": [{**public, "kid": key_id, "use": "sig", "alg": EDDSA}]}
    # The JWKS first: a folder with a key but no JWKS would refuse a second init
    # while giving verifiers nothing to check against.
    write_atomically(files.jwks, (json.dumps(jwks, indent=2) + "\n").encode("utf-8"))
    write_private_key(files.signing_key, key)
    return Provider(files, key_id)


def issue_token(
    folder: Path,
    *,
    operator_id: str,
    name: str,
    roles: Sequence[str],
    division: str,
    audience: str,
    lifetime: timedelta = DEFAULT_LIFETIME,
    issuer: str = DEVELOPMENT_ISSUER,
    now: datetime | None = None,
) -> str:
    """A signed operator token (compact JWS, EdDSA) from the provider in `folder`.

    `division` is the 12-digit code (or the 6-digit GB/T 2260 form) of the unit
    the operator serves.
    """
    key, key_id = _signing_key(ProviderFolder(folder))
    payload = _payload(
        operator_id=operator_id,
        name=name,
        roles=roles,
        division=division,
        audience=audience,
        lifetime=lifetime,
        issuer=issuer,
        now=now,
    )
    return jwt.encode(payload, key, algorithm=EDDSA, headers={"kid": key_id, "typ": "JWT"})


def _payload(
    *,
    operator_id: str,
    name: str,
    roles: Sequence[str],
    division: str,
    audience: str,
    lifetime: timedelta,
    issuer: str,
    now: datetime | None,
) -> dict[str, object]:
    # A str is a Sequence[str]: "reviewer" would read as eight one-letter roles.
    if isinstance(roles, str):
        raise IdentityError(f"roles is a list of role names, not the one string {roles!r}")
    for what, value in (("audience", audience), ("issuer", issuer)):
        if not value.strip():
            raise IdentityError(f"the {what} must not be blank")
    if not timedelta(0) < lifetime <= MAX_LIFETIME:
        raise IdentityError(f"the lifetime must be more than 0 and at most {MAX_LIFETIME}")
    issued = int((now or datetime.now(UTC)).timestamp())
    payload: dict[str, object] = {
        claims.ISSUER: issuer,
        claims.SUBJECT: operator_id,
        claims.AUDIENCE: audience,
        claims.ISSUED_AT: issued,
        claims.NOT_BEFORE: issued,
        claims.EXPIRES: issued + int(lifetime.total_seconds()),
        claims.TOKEN_ID: str(uuid.uuid4()),
        claims.NAME: name,
        claims.ROLES: list(roles),
        # The 6-digit GB/T 2260 form is a convenience of the command line; the
        # token always carries the 12-digit code the verifier requires.
        claims.DIVISION: division + "000000" if len(division) == 6 else division,
    }
    # Held to the rules the verifier reads it by, so a token made here never
    # comes back refused for its claims.
    claims.read_operator(payload)
    return payload


def _signing_key(files: ProviderFolder) -> tuple[Ed25519PrivateKey, str]:
    path = files.signing_key
    try:
        mode = path.stat().st_mode
        pem = path.read_bytes()
    except FileNotFoundError as error:
        raise IdentityError(
            f"{files.root} holds no provider key ({SIGNING_KEY}): init it first"
        ) from error
    except OSError as error:
        raise IdentityError(f"cannot read {path}: {error.strerror}") from error
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise IdentityError(
            f"{path} is open to other users (mode {stat.S_IMODE(mode):04o}); "
            "a signing key must be 0600"
        )
    try:
        key = load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as error:
        raise IdentityError(f"{path} is not an unencrypted PEM private key") from error
    if not isinstance(key, Ed25519PrivateKey):
        raise IdentityError(f"{path} is not an Ed25519 key")
    return key, thumbprint(OKPAlgorithm.to_jwk(key.public_key(), as_dict=True))
