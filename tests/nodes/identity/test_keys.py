"""Reading a provider's JWKS: what a node accepts, leaves out, or refuses to load."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from caseledger.nodes.identity import IdentityError, Provider, key_set, load_jwks
from caseledger.nodes.identity.keys import IgnoredKey


def jwks_of(provider: Provider) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(provider.folder.jwks.read_text())
    return document


def test_the_providers_jwks_loads_its_key(provider: Provider) -> None:
    keys = load_jwks(provider.folder.jwks)

    assert list(keys.keys) == [provider.key_id]
    assert keys.keys[provider.key_id].algorithm == "EdDSA"


def test_a_jwks_with_a_private_key_is_refused(provider: Provider) -> None:
    document = jwks_of(provider)
    document["keys"][0]["d"] = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"

    with pytest.raises(IdentityError, match="private key material"):
        key_set(document)


def test_a_key_id_listed_twice_is_refused(provider: Provider) -> None:
    document = jwks_of(provider)
    document["keys"].append(dict(document["keys"][0]))

    with pytest.raises(IdentityError, match="listed twice"):
        key_set(document)


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ({"kty": "RSA", "kid": "r", "n": "sXch", "e": "AQAB"}, "RSA"),
        ({"kty": "EC", "crv": "P-384", "kid": "e", "x": "AA", "y": "AA"}, "P-384"),
        ({"kty": "OKP", "crv": "Ed25519", "kid": "d", "x": "AA", "alg": "ES256"}, "ES256"),
    ],
)
def test_keys_of_other_kinds_are_left_out(
    provider: Provider, entry: dict[str, str], why: str
) -> None:
    document = jwks_of(provider)
    document["keys"].append(entry)

    keys = key_set(document)

    assert list(keys.keys) == [provider.key_id]
    ignored = keys.find(entry["kid"])
    assert isinstance(ignored, IgnoredKey)
    assert why in ignored.why


def test_a_symmetric_key_is_secret_material_never_in_a_verifiers_file(
    provider: Provider,
) -> None:
    document = jwks_of(provider)
    document["keys"].append({"kty": "oct", "kid": "h", "k": "c2VjcmV0"})

    with pytest.raises(IdentityError, match="private key material"):
        key_set(document)


def test_a_key_for_encryption_is_left_out(provider: Provider) -> None:
    document = jwks_of(provider)
    document["keys"][0]["use"] = "enc"

    with pytest.raises(IdentityError, match="no key this node accepts"):
        key_set(document)


@pytest.mark.parametrize(
    "document",
    [[], {}, {"keys": "none"}, {"keys": []}, {"keys": [{"kty": "OKP", "crv": "Ed25519"}]}],
)
def test_what_is_not_a_usable_jwks_is_refused(document: object) -> None:
    with pytest.raises(IdentityError):
        key_set(document)


def test_a_missing_jwks_file_is_a_precise_error(tmp_path: Path) -> None:
    with pytest.raises(IdentityError, match="cannot read the JWKS file"):
        load_jwks(tmp_path / "absent.json")


def test_a_broken_key_of_an_accepted_kind_is_an_error_not_left_out(provider: Provider) -> None:
    document = jwks_of(provider)
    document["keys"].append({"kty": "OKP", "crv": "Ed25519", "kid": "short", "x": "AA"})

    with pytest.raises(IdentityError, match="not a valid EdDSA key"):
        key_set(document)
