"""Client certificates: what a window system, an auditor's CLI or a reporting tool
presents to a node. A client certificate names who holds it (`urn:caseledger:client:`
and a name) and no division: a client acts for an operator, whose division comes
from the operator's token, never from the connection.

A client's folder (`--tls` of the CLI):

    client.key   its TLS key (ECDSA P-256, mode 0600)
    client.crt   its certificate
    ca.crt       the network CA's certificate, to check nodes against
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from caseledger.nodes.trust.authority import Authority, not_before, now
from caseledger.nodes.trust.certificates import IssuedCertificate, uris_of
from caseledger.nodes.trust.errors import TrustError
from caseledger.nodes.trust.layout import ca_cert_copy, write_atomically, write_private_key

CLIENT_URI_PREFIX = "urn:caseledger:client:"
CLIENT_VALIDITY = datetime.timedelta(days=90)
CLIENT_KEY = "client.key"
CLIENT_CERT = "client.crt"
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")


def client_name_of(cert: x509.Certificate) -> str | None:
    """The client a certificate names, or None if it is not a client certificate."""
    names = [
        u.removeprefix(CLIENT_URI_PREFIX) for u in uris_of(cert) if u.startswith(CLIENT_URI_PREFIX)
    ]
    return names[0] if len(names) == 1 else None


def issue_client(
    authority: Authority,
    name: str,
    out: Path,
    validity: datetime.timedelta = CLIENT_VALIDITY,
) -> IssuedCertificate:
    """Issue client NAME a key and certificate, written into the folder `out`."""
    if not _NAME.fullmatch(name):
        raise TrustError(
            f"{name!r} is not a client name: lower-case letters, digits, '.', '_' and '-', "
            "at most 63, starting with a letter or digit"
        )
    key = ec.generate_private_key(ec.SECP256R1())
    moment = now()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"client {name}")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(authority.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before(moment))
        .not_valid_after(min(moment + validity, authority.cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(CLIENT_URI_PREFIX + name)]),
            critical=False,
        )
        .sign(authority.key, authority.hash_algorithm)
    )
    pem = cert.public_bytes(Encoding.PEM)
    recorded = authority.folder.next_issued_cert(cert.serial_number)
    write_atomically(recorded, pem)
    key_path, cert_path, ca_path = out / CLIENT_KEY, out / CLIENT_CERT, ca_cert_copy(out)
    write_private_key(key_path, key)
    write_atomically(cert_path, pem)
    write_atomically(ca_path, authority.cert.public_bytes(Encoding.PEM))
    return IssuedCertificate(cert, (key_path, cert_path, ca_path, recorded))
