"""Verifier keys: a JWKS (RFC 7517) read into the keys a node accepts, and the
key id (RFC 7638 thumbprint) a provider names its keys by.

Only two algorithms are accepted, each bound to one kind of key, so the
algorithm a token is checked with always comes from the key the node holds,
never from the token alone (RFC 8725 §2.1, §3.1):

    EdDSA  an OKP key on Ed25519     (the development provider's)
    ES256  an EC key on P-256

Keys of any other kind (RSA, symmetric, other curves) are left out and noted,
so a token naming one is refused with a reason that says so.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from jwt import PyJWK
from jwt.exceptions import PyJWTError

from caseledger.nodes.identity.errors import IdentityError

EDDSA: Final = "EdDSA"
ES256: Final = "ES256"
ACCEPTED_ALGORITHMS: Final = (EDDSA, ES256)

_ALGORITHM_OF_KEY: Final[Mapping[tuple[str, str], str]] = {
    ("OKP", "Ed25519"): EDDSA,
    ("EC", "P-256"): ES256,
}
# RFC 7638 §3.2: the members a thumbprint is computed over, per key type.
_THUMBPRINT_MEMBERS: Final[Mapping[str, tuple[str, ...]]] = {
    "OKP": ("crv", "kty", "x"),
    "EC": ("crv", "kty", "x", "y"),
}
# A JWK member that only a private key has: a verifier's file must not hold one.
_PRIVATE_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "k"})

MAX_JWKS_BYTES: Final = 1 << 20
"""A JWKS file is a handful of keys; a megabyte is a wrong file, not a key set."""
MAX_KEYS: Final = 64
MAX_KEY_ID: Final = 128


@dataclass(frozen=True)
class VerifierKey:
    key_id: str
    algorithm: str
    jwk: PyJWK


@dataclass(frozen=True)
class IgnoredKey:
    key_id: str
    why: str


@dataclass(frozen=True)
class KeySet:
    """The keys of a JWKS that a node verifies tokens with, by key id."""

    keys: Mapping[str, VerifierKey]
    ignored: tuple[IgnoredKey, ...] = ()

    def find(self, key_id: str) -> VerifierKey | IgnoredKey | None:
        found = self.keys.get(key_id)
        if found is not None:
            return found
        return next((key for key in self.ignored if key.key_id == key_id), None)


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """The RFC 7638 thumbprint (SHA-256, base64url without padding) of a public JWK."""
    members = _THUMBPRINT_MEMBERS.get(str(jwk.get("kty")))
    if members is None:
        raise IdentityError(f"no thumbprint for a key of type {jwk.get('kty')!r}")
    canonical = json.dumps(
        {name: jwk[name] for name in members}, separators=(",", ":"), sort_keys=True
    )
    digest = hashlib.sha256(canonical.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def load_jwks(path: Path) -> KeySet:
    """The accepted keys of the JWKS file at `path`."""
    try:
        with path.open("rb") as file:
            content = file.read(MAX_JWKS_BYTES + 1)
    except OSError as error:
        raise IdentityError(f"cannot read the JWKS file {path}: {error.strerror}") from error
    if len(content) > MAX_JWKS_BYTES:
        raise IdentityError(f"{path} is larger than {MAX_JWKS_BYTES} bytes: not a JWKS file")
    try:
        document = json.loads(content)
    except (ValueError, RecursionError) as error:
        raise IdentityError(f"{path} is not JSON: {error}") from error
    return key_set(document, str(path))


def key_set(document: object, source: str = "the JWKS") -> KeySet:
    """The accepted keys of a parsed JWKS document (`{"keys": [...]}`)."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise IdentityError(f"{source} is not a JWKS: a JSON object with a list of keys")
    entries: list[object] = document["keys"]
    if len(entries) > MAX_KEYS:
        raise IdentityError(f"{source} holds {len(entries)} keys, more than {MAX_KEYS}")
    keys: dict[str, VerifierKey] = {}
    ignored: list[IgnoredKey] = []
    for index, entry in enumerate(entries):
        where = f"{source}, key {index}"
        if not isinstance(entry, dict):
            raise IdentityError(f"{where} is not a JSON object")
        key_id = entry.get("kid")
        if not isinstance(key_id, str) or not key_id or len(key_id) > MAX_KEY_ID:
            raise IdentityError(f"{where} has no key id (kid) of 1 to {MAX_KEY_ID} characters")
        if key_id in keys or any(key.key_id == key_id for key in ignored):
            raise IdentityError(f"{where}: key id {key_id!r} is listed twice")
        if _PRIVATE_MEMBERS & entry.keys():
            raise IdentityError(
                f"{where} ({key_id}) holds private key material: "
                "a verifier's JWKS lists public keys only"
            )
        made = _accepted(entry, key_id, where)
        if isinstance(made, IgnoredKey):
            ignored.append(made)
        else:
            keys[key_id] = made
    if not keys:
        raise IdentityError(f"{source} holds no key this node accepts ({_accepted_kinds()})")
    return KeySet(keys, tuple(ignored))


def _accepted(entry: dict[str, Any], key_id: str, where: str) -> VerifierKey | IgnoredKey:
    kind = (str(entry.get("kty")), str(entry.get("crv")))
    algorithm = _ALGORITHM_OF_KEY.get(kind)
    if algorithm is None:
        shown = kind[0] if "crv" not in entry else f"{kind[0]} {kind[1]}"
        return IgnoredKey(key_id, f"a {shown} key, not one of {_accepted_kinds()}")
    use = entry.get("use", "sig")
    if use != "sig":
        return IgnoredKey(key_id, f"its use is {use!r}, not signatures")
    declared = entry.get("alg", algorithm)
    if declared != algorithm:
        return IgnoredKey(key_id, f"it is declared for {declared!r}, not {algorithm}")
    try:
        jwk = PyJWK(entry, algorithm)
    except PyJWTError as error:
        raise IdentityError(
            f"{where} ({key_id}) is not a valid {algorithm} key: {error}"
        ) from error
    return VerifierKey(key_id, algorithm, jwk)


def _accepted_kinds() -> str:
    return ", ".join(f"{alg} ({kty} {crv})" for (kty, crv), alg in _ALGORITHM_OF_KEY.items())
