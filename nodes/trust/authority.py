"""The network's certificate authority (CA): made by the province (`init`) or an
existing CA's certificate and key taken over (`import`).

The CA signs with ECDSA P-256 and SHA-256 when it makes its own key: gRPC's TLS
(BoringSSL) checks such chains, and so does every other TLS stack.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.hazmat.primitives.serialization import Encoding, load_pem_private_key
from cryptography.x509.oid import NameOID

from caseledger.nodes.trust.errors import TrustError
from caseledger.nodes.trust.layout import PkiFolder, write_atomically, write_private_key

CA_VALIDITY = datetime.timedelta(days=10 * 365)
"""A CA made by `init` is valid ten years."""

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


def init_ca(
    folder: PkiFolder, network: str, validity: datetime.timedelta = CA_VALIDITY
) -> Authority:
    """Make the network's CA in an empty PKI folder, with an empty revocation list."""
    if not network.strip():
        raise TrustError("the network needs a name")
    _refuse_existing(folder)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, network),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{network} caseledger network CA"),
        ]
    )
    moment = now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before(moment))
        .not_valid_after(moment + validity)
        # Path length 0: the CA signs node certificates only, never another CA.
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return _install(folder, cert, key)


def import_ca(folder: PkiFolder, cert_file: Path, key_file: Path) -> Authority:
    """Take over an existing CA: its certificate must be a CA's and its key must match it."""
    _refuse_existing(folder)
    try:
        cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    except (OSError, ValueError) as error:
        raise TrustError(f"{cert_file}: not a PEM certificate ({error})") from error
    try:
        key = load_pem_private_key(key_file.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as error:
        raise TrustError(f"{key_file}: not an unencrypted PEM private key ({error})") from error
    if not isinstance(
        key,
        ec.EllipticCurvePrivateKey
        | ed25519.Ed25519PrivateKey
        | ed448.Ed448PrivateKey
        | rsa.RSAPrivateKey,
    ):
        raise TrustError(f"{key_file}: a {type(key).__name__} cannot sign certificates")
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is None or not constraints.ca:
        raise TrustError(f"{cert_file}: not a CA certificate (no basic constraints CA:true)")
    if cert.public_key() != key.public_key():
        raise TrustError(f"{key_file} is not the key of the certificate in {cert_file}")
    return _install(folder, cert, key)


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
    except ValueError as error:
        raise TrustError(f"{folder.root}: unreadable CA file ({error})") from error
    if not isinstance(
        key,
        ec.EllipticCurvePrivateKey
        | ed25519.Ed25519PrivateKey
        | ed448.Ed448PrivateKey
        | rsa.RSAPrivateKey,
    ):
        raise TrustError(f"{folder.ca_key}: a {type(key).__name__} cannot sign certificates")
    return Authority(folder, cert, key)


def load_ca_cert(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError) as error:
        raise TrustError(f"{path}: cannot read the CA certificate ({error})") from error


def _refuse_existing(folder: PkiFolder) -> None:
    if folder.ca_key.exists() or folder.ca_cert.exists():
        raise TrustError(f"{folder.root} already holds a CA; a network has one CA")


def _install(
    folder: PkiFolder, cert: x509.Certificate, key: CertificateIssuerPrivateKeyTypes
) -> Authority:
    from caseledger.nodes.trust.revocation import write_crl

    folder.issued.mkdir(parents=True, exist_ok=True)
    write_private_key(folder.ca_key, key)
    write_atomically(folder.ca_cert, cert.public_bytes(Encoding.PEM))
    authority = Authority(folder, cert, key)
    write_crl(authority, [])
    return authority
