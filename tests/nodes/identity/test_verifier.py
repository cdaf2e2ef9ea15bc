"""Verifying operator tokens: each way a token can fail is refused with its reason."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from caseledger.ledger.codes.division import DivisionCode
from caseledger.nodes.identity import (
    DEFAULT_LEEWAY,
    DEVELOPMENT_ISSUER,
    MAX_TOKEN_BYTES,
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
    Provider,
    TokenRefused,
    TokenVerifier,
    init_provider,
    key_set,
    thumbprint,
)
from tests.nodes.identity.conftest import (
    AUDIENCE,
    LIXIA,
    NOW,
    PROVINCE,
    Issue,
    claims_of,
    segment,
    sign_as,
)

SOON = NOW + timedelta(minutes=5)


def refusal(verifier: TokenVerifier, token: str | None, at: datetime = SOON) -> TokenRefused:
    with pytest.raises(TokenRefused) as refused:
        verifier.verify(token, now=at)
    return refused.value


def test_a_token_of_the_provider_names_the_operator(
    verifier: TokenVerifier, issue: Issue, provider: Provider
) -> None:
    token = issue(roles=["window_clerk", "reviewer"])

    identity = verifier.verify(token, now=SOON)

    assert identity.operator_id == "lixia.window.03"
    assert identity.name == "刘敏"
    assert identity.roles == ("window_clerk", "reviewer")
    assert identity.division == DivisionCode(LIXIA)
    assert identity.issuer == DEVELOPMENT_ISSUER
    assert identity.key_id == provider.key_id
    assert identity.expires_at == NOW + timedelta(hours=8)


def test_the_token_is_eddsa_and_names_its_key(issue: Issue, provider: Provider) -> None:
    header = jwt.get_unverified_header(issue())

    assert header["alg"] == "EdDSA"
    assert header["kid"] == provider.key_id


def test_no_token_is_missing(verifier: TokenVerifier) -> None:
    assert refusal(verifier, None).reason == TOKEN_MISSING
    assert refusal(verifier, "").reason == TOKEN_MISSING


@pytest.mark.parametrize(
    "token",
    ["not-a-token", "a.b", "a.b.c", "eyJhbGciOiJFZERTQSJ9.e30", "令牌.令牌.令牌"],
)
def test_what_is_not_a_compact_jws_is_malformed(verifier: TokenVerifier, token: str) -> None:
    assert refusal(verifier, token).reason == TOKEN_MALFORMED


def test_an_expired_token_is_refused(verifier: TokenVerifier, issue: Issue) -> None:
    token = issue(lifetime=timedelta(hours=1))

    refused = refusal(verifier, token, NOW + timedelta(hours=1) + DEFAULT_LEEWAY)

    assert refused.reason == TOKEN_EXPIRED
    assert "expired at 2026-12-01T10:00:00+00:00" in refused.detail


def test_a_token_just_past_its_expiry_passes_within_the_leeway(
    verifier: TokenVerifier, issue: Issue
) -> None:
    token = issue(lifetime=timedelta(hours=1))
    late = NOW + timedelta(hours=1) + DEFAULT_LEEWAY - timedelta(seconds=1)

    assert verifier.verify(token, now=late).operator_id == "lixia.window.03"


def test_a_token_from_a_provider_whose_clock_runs_ahead_is_not_yet_valid(
    verifier: TokenVerifier, issue: Issue
) -> None:
    early = NOW - DEFAULT_LEEWAY - timedelta(seconds=1)

    assert refusal(verifier, issue(), early).reason == TOKEN_NOT_YET_VALID
    assert verifier.verify(issue(), now=NOW - DEFAULT_LEEWAY).name == "刘敏"


def test_a_token_for_another_audience_is_refused(verifier: TokenVerifier, issue: Issue) -> None:
    refused = refusal(verifier, issue(audience="urn:caseledger:network:henan"))

    assert refused.reason == TOKEN_AUDIENCE
    assert "henan" in refused.detail


def test_an_audience_list_naming_this_network_passes(
    verifier: TokenVerifier, provider: Provider, issue: Issue
) -> None:
    payload = claims_of(issue()) | {"aud": ["urn:other", AUDIENCE]}

    assert verifier.verify(sign_as(provider, payload), now=SOON).name == "刘敏"


def test_a_token_without_an_audience_is_refused(
    verifier: TokenVerifier, provider: Provider, issue: Issue
) -> None:
    payload = claims_of(issue())
    del payload["aud"]

    assert refusal(verifier, sign_as(provider, payload)).reason == TOKEN_AUDIENCE


def test_a_token_of_another_issuer_is_refused(verifier: TokenVerifier, issue: Issue) -> None:
    refused = refusal(verifier, issue(issuer="urn:someone-else"))

    assert refused.reason == TOKEN_ISSUER


def test_a_token_signed_by_another_provider_names_an_unknown_key(
    verifier: TokenVerifier, tmp_path: Path
) -> None:
    other = init_provider(tmp_path / "other-provider")
    token = sign_as(other, claims_of_valid_token(other))

    refused = refusal(verifier, token)

    assert refused.reason == TOKEN_UNKNOWN_KEY
    assert other.key_id in refused.detail


def test_another_providers_signature_under_this_providers_key_id_does_not_verify(
    verifier: TokenVerifier, provider: Provider, tmp_path: Path
) -> None:
    other = init_provider(tmp_path / "other-provider")
    token = sign_as(other, claims_of_valid_token(other), kid=provider.key_id)

    assert refusal(verifier, token).reason == TOKEN_BAD_SIGNATURE


def test_a_tampered_payload_breaks_the_signature(verifier: TokenVerifier, issue: Issue) -> None:
    header, _, signature = issue().split(".")
    payload = claims_of(issue()) | {
        "roles": ["data_protection_officer"],
        "division": "370000000000",
    }
    forged = f"{header}.{segment(payload)}.{signature}"

    assert refusal(verifier, forged).reason == TOKEN_BAD_SIGNATURE


def test_an_unsigned_token_alg_none_is_refused(
    verifier: TokenVerifier, provider: Provider, issue: Issue
) -> None:
    unsigned = f"{segment({'alg': 'none', 'kid': provider.key_id})}.{segment(claims_of(issue()))}."

    refused = refusal(verifier, unsigned)

    assert refused.reason == TOKEN_BAD_SIGNATURE
    assert "'none'" in refused.detail


def test_an_hs256_token_keyed_with_the_public_key_is_refused(
    verifier: TokenVerifier, provider: Provider, issue: Issue
) -> None:
    # The classic confusion: the public key, public to all, used as an HMAC secret.
    # Made by hand: PyJWT itself will not sign with a JWK as a secret.
    public = provider.folder.jwks.read_bytes()
    signing_input = (
        f"{segment({'alg': 'HS256', 'kid': provider.key_id})}.{segment(claims_of(issue()))}"
    )
    mac = hmac.new(public, signing_input.encode("ascii"), hashlib.sha256).digest()
    token = f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode('ascii')}"

    refused = refusal(verifier, token)

    assert refused.reason == TOKEN_BAD_SIGNATURE
    assert "HS256" in refused.detail


def test_an_es256_header_on_the_eddsa_key_is_refused(
    verifier: TokenVerifier, provider: Provider, issue: Issue
) -> None:
    _, payload, signature = issue().split(".")
    relabelled = f"{segment({'alg': 'ES256', 'kid': provider.key_id})}.{payload}.{signature}"

    refused = refusal(verifier, relabelled)

    assert refused.reason == TOKEN_BAD_SIGNATURE
    assert "EdDSA key" in refused.detail


def test_an_oversized_token_is_refused_even_with_a_good_signature(
    verifier: TokenVerifier, provider: Provider, issue: Issue
) -> None:
    payload = claims_of(issue()) | {"padding": "x" * MAX_TOKEN_BYTES}
    huge = sign_as(provider, payload)

    refused = refusal(verifier, huge)

    assert refused.reason == TOKEN_MALFORMED
    assert str(MAX_TOKEN_BYTES) in refused.detail


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"division": "370102"}, "division"),
        ({"division": "990000000000"}, "division"),
        ({"division": 370102000000}, "division"),
        ({"roles": "window_clerk"}, "roles"),
        ({"roles": []}, "roles"),
        ({"roles": ["Window Clerk"]}, "roles"),
        ({"sub": ""}, "sub"),
        ({"name": 7}, "name"),
        ({"exp": "tomorrow"}, "exp"),
        ({"exp": True}, "exp"),
    ],
)
def test_ill_typed_operator_claims_are_refused(
    verifier: TokenVerifier, provider: Provider, issue: Issue, change: dict[str, object], named: str
) -> None:
    token = sign_as(provider, claims_of(issue()) | change)

    refused = refusal(verifier, token)

    assert refused.reason == TOKEN_CLAIMS
    assert refused.detail.startswith(named)


@pytest.mark.parametrize("claim", ["sub", "name", "roles", "division", "exp"])
def test_a_missing_operator_claim_is_refused(
    verifier: TokenVerifier, provider: Provider, issue: Issue, claim: str
) -> None:
    payload = claims_of(issue())
    del payload[claim]

    assert refusal(verifier, sign_as(provider, payload)).reason == TOKEN_CLAIMS


def test_an_es256_key_of_a_real_provider_verifies_its_tokens(issue: Issue) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    public = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    kid = thumbprint(public)
    verifier = TokenVerifier(
        key_set({"keys": [public | {"kid": kid}]}),
        audience=AUDIENCE,
        issuers=["https://idp.example"],
    )
    payload = claims_of(issue()) | {"iss": "https://idp.example"}
    token = jwt.encode(payload, key, algorithm="ES256", headers={"kid": kid})

    identity = verifier.verify(token, now=SOON)

    assert (identity.issuer, identity.key_id) == ("https://idp.example", kid)


def test_a_token_naming_a_key_of_a_kind_not_accepted_says_so(
    provider: Provider, issue: Issue
) -> None:
    jwks = json.loads(provider.folder.jwks.read_text())
    rsa_entry = {"kty": "RSA", "kid": "rsa-1", "n": "sXch", "e": "AQAB"}
    verifier = TokenVerifier(
        key_set({"keys": [*jwks["keys"], rsa_entry]}),
        audience=AUDIENCE,
        issuers=[DEVELOPMENT_ISSUER],
    )
    token = sign_as(provider, claims_of(issue()), kid="rsa-1")

    refused = refusal(verifier, token)

    assert refused.reason == TOKEN_UNKNOWN_KEY
    assert "RSA" in refused.detail


def claims_of_valid_token(provider: Provider) -> dict[str, object]:
    """A well-formed payload, as any provider would sign it."""
    return {
        "iss": DEVELOPMENT_ISSUER,
        "aud": AUDIENCE,
        "sub": "intruder",
        "name": "冒名者",
        "roles": ["data_protection_officer"],
        "division": PROVINCE,
        "iat": int(NOW.timestamp()),
        "exp": int(NOW.timestamp()) + 3600,
    }


def test_a_refusal_quotes_what_the_token_says_only_briefly(
    verifier: TokenVerifier, issue: Issue
) -> None:
    refused = refusal(verifier, issue(issuer="i" * 4000))

    assert refused.reason == TOKEN_ISSUER
    assert len(refused.detail) < 200


def test_a_time_without_a_zone_is_a_mistake_of_the_caller(
    verifier: TokenVerifier, issue: Issue
) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        verifier.verify(issue(), now=datetime(2026, 12, 1, 9, 5))


def test_one_issuer_given_as_a_string_is_not_read_as_its_letters(provider: Provider) -> None:
    with pytest.raises(IdentityError, match="not one string"):
        TokenVerifier.from_jwks_file(provider.folder.jwks, audience=AUDIENCE, issuers="iss")
