"""The development provider's folder: its key, its JWKS, and what it refuses to sign."""

from __future__ import annotations

import json
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from caseledger.nodes.identity import (
    IdentityError,
    Provider,
    init_provider,
    issue_token,
    thumbprint,
)
from tests.nodes.identity.conftest import LIXIA, Issue, claims_of


def test_the_signing_key_is_ed25519_pkcs8_and_mode_0600(provider: Provider) -> None:
    path = provider.folder.signing_key

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert isinstance(load_pem_private_key(path.read_bytes(), None), Ed25519PrivateKey)


def test_the_jwks_holds_the_public_key_only_named_by_its_thumbprint(provider: Provider) -> None:
    (key,) = json.loads(provider.folder.jwks.read_text())["keys"]

    assert key["kid"] == provider.key_id == thumbprint(key)
    assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("OKP", "Ed25519", "EdDSA", "sig")
    assert "d" not in key


def test_the_thumbprint_is_rfc_7638s() -> None:
    # RFC 8037, appendix A.3: the thumbprint of the example Ed25519 key.
    jwk = {"crv": "Ed25519", "kty": "OKP", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}

    assert thumbprint(jwk) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_a_folder_that_holds_a_provider_is_not_made_again(provider: Provider) -> None:
    before = provider.folder.signing_key.read_bytes()

    with pytest.raises(IdentityError, match="already holds a provider"):
        init_provider(provider.folder.root)
    assert provider.folder.signing_key.read_bytes() == before


def test_the_provider_refuses_to_sign_with_a_key_others_can_read(
    provider: Provider, issue: Issue
) -> None:
    provider.folder.signing_key.chmod(0o644)

    with pytest.raises(IdentityError, match="must be 0600"):
        issue()


def test_a_folder_without_a_provider_signs_nothing(tmp_path: Path) -> None:
    with pytest.raises(IdentityError, match="init it first"):
        issue_token(
            tmp_path,
            operator_id="x",
            name="x",
            roles=["reviewer"],
            division=LIXIA,
            audience="a",
        )


def test_a_six_digit_division_is_written_as_its_twelve_digit_code(issue: Issue) -> None:
    assert claims_of(issue(division="370102"))["division"] == LIXIA


def test_the_token_carries_issue_time_expiry_and_an_id(issue: Issue) -> None:
    payload = claims_of(issue(lifetime=timedelta(hours=2)))

    assert payload["exp"] - payload["iat"] == 7200
    assert payload["nbf"] == payload["iat"]
    assert len(payload["jti"]) == 36


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"roles": []}, "at least one role"),
        ({"roles": ["窗口"]}, "not a role name"),
        ({"roles": ["reviewer", "reviewer"]}, "twice"),
        ({"roles": "reviewer"}, "not the one string"),
        ({"division": "3701"}, "division"),
        ({"division": "370102001001"}, "village part"),
        ({"operator_id": " "}, "blank"),
        ({"name": "名" * 201}, "more than 200"),
        ({"audience": ""}, "audience"),
        ({"lifetime": timedelta(hours=25)}, "at most"),
        ({"lifetime": timedelta(0)}, "more than 0"),
    ],
)
def test_the_provider_refuses_what_a_node_would_refuse(
    issue: Issue, change: dict[str, object], complaint: str
) -> None:
    with pytest.raises(IdentityError, match=complaint):
        issue(**change)
