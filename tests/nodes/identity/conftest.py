"""A development identity provider in a temporary folder, and tokens it signs."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from caseledger.nodes.identity import (
    DEVELOPMENT_ISSUER,
    Provider,
    TokenVerifier,
    init_provider,
    issue_token,
)

AUDIENCE = "urn:caseledger:network:shandong"
PROVINCE = "370000000000"  # 山东省
JINAN = "370100000000"  # 济南市
LIXIA = "370102000000"  # 历下区, in Jinan
PINGYIN = "370124000000"  # 平阴县, in Jinan
DONGE = "370124100000"  # 东阿镇, in Pingyin
QINGDAO = "370200000000"  # 青岛市

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
"""Every token here is issued at this instant; tests verify at chosen times after it."""

Issue = Callable[..., str]


@pytest.fixture
def provider(tmp_path: Path) -> Provider:
    return init_provider(tmp_path / "provider")


@pytest.fixture
def verifier(provider: Provider) -> TokenVerifier:
    return TokenVerifier.from_jwks_file(
        provider.folder.jwks, audience=AUDIENCE, issuers=[DEVELOPMENT_ISSUER]
    )


@pytest.fixture
def issue(provider: Provider) -> Issue:
    """A token of the provider: a Lixia window clerk for eight hours, unless told otherwise."""

    def made(
        *,
        operator_id: str = "lixia.window.03",
        name: str = "刘敏",
        roles: Sequence[str] = ("window_clerk",),
        division: str = LIXIA,
        audience: str = AUDIENCE,
        lifetime: timedelta = timedelta(hours=8),
        issuer: str = DEVELOPMENT_ISSUER,
    ) -> str:
        return issue_token(
            provider.folder.root,
            operator_id=operator_id,
            name=name,
            roles=roles,
            division=division,
            audience=audience,
            lifetime=lifetime,
            issuer=issuer,
            now=NOW,
        )

    return made


def claims_of(token: str) -> dict[str, Any]:
    """The payload of a token, unverified (to build variants of it)."""
    payload: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return payload


def sign_as(provider: Provider, payload: dict[str, Any], **header: Any) -> str:
    """`payload` signed with the provider's own key: what a provider that
    writes bad claims (or a test of the claims) would produce."""
    key = load_pem_private_key(provider.folder.signing_key.read_bytes(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return jwt.encode(payload, key, algorithm="EdDSA", headers={"kid": provider.key_id, **header})


def segment(value: dict[str, Any]) -> str:
    raw = json.dumps(value, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
