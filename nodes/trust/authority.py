"""The network's certificate authority (CA) as loaded from its PKI folder, and the
clock and hash its signatures use."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from caseledger.nodes.trust.errors import TrustError
from caseledger.nodes.trust.layout import PkiFolder

SIGNING_KEYS = (
    ec.EllipticCurvePrivateKey,
    ed25519.Ed25519PrivateKey,
    ed448.Ed448PrivateKey,
    rsa.RSAPrivateKey,
)
"""The kinds of key a CA may sign certificates and revocation lists with."""

_CLOCK_SKEW = datetime.timedelta(minutes=5)
"""Certificates start this long before they are made, for peers whose clocks lag."""


@dataclass(frozen=True)
class Authority:
    """The CA's certificate and key, loaded from the PKI folder."""

    folder: PkiFolder
    cert: x509.Certificate
    key: CertificateIssuerPrivateKeyTypes

    @property
    def hash_algorithm(self) -> hashes.SHA256 | None:
        return signing_hash(self.key)


def signing_hash(key: CertificateIssuerPrivateKeyTypes) -> hashes.SHA256 | None:
    """Ed25519 and Ed448 sign without a separate hash; the others with SHA-256."""
    if isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):
        return None
    return hashes.SHA256()


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def not_before(moment: datetime.datetime) -> datetime.datetime:
    return moment - _CLOCK_SKEW


def load_ca(folder: PkiFolder) -> Authority:
    """The CA of an initialised PKI folder."""
    try:
        cert = x509.load_pem_x509_certificate(folder.ca_cert.read_bytes())
        key = load_pem_private_key(folder.ca_key.read_bytes(), password=None)
    except FileNotFoundError as error:
        raise TrustError(
            f"{folder.root} holds no CA ({error.filename} is missing): run `pki init` "
            "or `pki import` first"
        ) from error
    except (ValueError, TypeError) as error:
        raise TrustError(f"{folder.root}: unreadable CA file ({error})") from error
    if not isinstance(key, SIGNING_KEYS):
        raise TrustError(f"{folder.ca_key}: a {type(key).__name__} cannot sign certificates")
    return Authority(folder, cert, key)
