"""Founding the network's CA: made by the province (`init`) or an existing CA's
certificate and key taken over (`import`).

The CA signs with ECDSA P-256 and SHA-256 when it makes its own key: gRPC's TLS
(BoringSSL) checks such chains, and so does every other TLS stack.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.hazmat.primitives.serialization import Encoding, load_pem_private_key
from cryptography.x509.oid import NameOID

from caseledger.nodes.trust.authority import SIGNING_KEYS, Authority, not_before, now
from caseledger.nodes.trust.errors import TrustError
from caseledger.nodes.trust.layout import PkiFolder, write_atomically, write_private_key
from caseledger.nodes.trust.revocation import write_crl

CA_VALIDITY = datetime.timedelta(days=10 * 365)
"""A CA made by `init` is valid ten years."""


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
    if not isinstance(key, SIGNING_KEYS):
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


def _refuse_existing(folder: PkiFolder) -> None:
    if folder.ca_key.exists() or folder.ca_cert.exists():
        raise TrustError(f"{folder.root} already holds a CA; a network has one CA")


def _install(
    folder: PkiFolder, cert: x509.Certificate, key: CertificateIssuerPrivateKeyTypes
) -> Authority:
    folder.issued.mkdir(parents=True, exist_ok=True)
    write_private_key(folder.ca_key, key)
    write_atomically(folder.ca_cert, cert.public_bytes(Encoding.PEM))
    authority = Authority(folder, cert, key)
    write_crl(authority, [])
    return authority
