"""A node's sealing key: the X25519 key subject keys are wrapped to when a case is
handed to it (`caseledger.ledger.personal.wrapping`). Kept beside its other keys
as `<code>.sealing.key` (0600) and bound in its certificate as a URI SAN
`urn:caseledger:sealing:x25519:<base64url>`, so a node handing a case over takes
the receiver's key from the certificate the receiver proved in the handshake.

A key of its own, not the TLS key: a key that signs handshakes is not also used
for key agreement.
"""

from __future__ import annotations

import base64
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)

from caseledger.nodes.trust.errors import TrustError
from caseledger.nodes.trust.layout import write_atomically

SEALING_URI_PREFIX = "urn:caseledger:sealing:x25519:"


def sealing_key_file(directory: Path, code: str) -> Path:
    return directory / f"{code}.sealing.key"


def sealing_uri(key: X25519PublicKey) -> str:
    raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return SEALING_URI_PREFIX + base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def load_sealing_key(directory: Path, code: str) -> X25519PrivateKey | None:
    path = sealing_key_file(directory, code)
    if not path.exists():
        return None
    try:
        loaded = load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as error:
        raise TrustError(f"{path}: cannot read the sealing key ({error})") from error
    if not isinstance(loaded, X25519PrivateKey):
        raise TrustError(f"{path} does not hold an X25519 key")
    return loaded


def load_or_create_sealing_key(directory: Path, code: str) -> X25519PrivateKey:
    found = load_sealing_key(directory, code)
    if found is not None:
        return found
    key = X25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    write_atomically(sealing_key_file(directory, code), pem, 0o600)
    return key


def sealing_key_in(uris: list[str]) -> X25519PublicKey | None:
    """The sealing key a certificate's URIs bind, if it binds one."""
    encoded = [u.removeprefix(SEALING_URI_PREFIX) for u in uris if u.startswith(SEALING_URI_PREFIX)]
    if len(encoded) != 1:
        return None
    text = encoded[0]
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        return X25519PublicKey.from_public_bytes(raw)
    except ValueError:
        return None


def sealing_key_of(cert: x509.Certificate) -> X25519PublicKey | None:
    from caseledger.nodes.trust.certificates import uris_of

    return sealing_key_in(uris_of(cert))
