"""Node certificates: the profile, issuing and renewing, and reading one back.

gRPC's TLS (BoringSSL) refuses Ed25519 keys in the handshake
(NO_COMMON_SIGNATURE_ALGORITHMS), so the node's Ed25519 identity key, which
signs its checkpoints, cannot be its TLS key. Each node therefore has an
ECDSA P-256 TLS key as well, and one certificate binds both: its subject key
is the TLS key, and a URI SAN carries the identity key.

The profile (one certificate per node, issued by the network CA):

- subject: CN=<division code>, O=<network>
- URI SAN `urn:caseledger:node:<12-digit division code>`: who the node is
- URI SAN `urn:caseledger:identity:ed25519:<base64url raw public key, unpadded>`
- DNS and IP SANs for the addresses the node listens on
- basic constraints CA:false (critical); key usage digitalSignature (critical);
  extended key usage serverAuth and clientAuth (both ends of mTLS)
- a random 159-bit serial; validity one year by default
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
)
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from caseledger.ledger.audit.identity import load_or_create
from caseledger.ledger.audit.log import AuditError
from caseledger.ledger.codes.division import DivisionCode
from caseledger.ledger.errors import InvalidInput
from caseledger.nodes.trust.authority import Authority, not_before, now
from caseledger.nodes.trust.errors import TrustError
from caseledger.nodes.trust.layout import (
    ca_cert_copy,
    node_cert_file,
    tls_key_file,
    write_atomically,
    write_private_key,
)
from caseledger.nodes.trust.sealing import (
    load_or_create_sealing_key,
    sealing_key_in,
    sealing_uri,
)
from caseledger.nodes.trust.transport import node_host

NODE_URI_PREFIX = "urn:caseledger:node:"
IDENTITY_URI_PREFIX = "urn:caseledger:identity:ed25519:"
NODE_VALIDITY = datetime.timedelta(days=365)
DEFAULT_HOSTS = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class IssuedCertificate:
    """A certificate just issued, and where it was written."""

    cert: x509.Certificate
    written: tuple[Path, ...]


def node_uri(code: str) -> str:
    return NODE_URI_PREFIX + code


def identity_uri(identity: Ed25519PublicKey) -> str:
    raw = identity.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return IDENTITY_URI_PREFIX + base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def parse_code(text: str) -> str:
    """A 12-digit division code, checked as the ledger checks one."""
    try:
        return str(DivisionCode.parse(text, "code"))
    except InvalidInput as error:
        raise TrustError(str(error)) from error


def issue(
    authority: Authority,
    code: str,
    *,
    data: Path | None = None,
    identity_key: Path | None = None,
    hosts: Sequence[str] = (),
    validity: datetime.timedelta = NODE_VALIDITY,
) -> IssuedCertificate:
    """Issue node CODE its certificate, beside its identity key.

    The identity key is the one in the data folder (made there, as the node makes
    it on first start, if absent) or the file `identity_key` names. The TLS key
    beside it is made if absent and reused if present.
    """
    code = parse_code(code)
    for host in hosts:
        if not host or host != host.strip():
            raise TrustError(f"{host!r} is not a host name or an IP address")
    if (data is None) == (identity_key is None):
        raise TrustError("name exactly one of the node's data folder and its identity key file")
    if data is not None:
        directory = data
        try:
            identity = load_or_create(data, code).key.public_key()
        except (AuditError, OSError, ValueError) as error:
            raise TrustError(f"{data}: cannot load or make the identity key ({error})") from error
    else:
        assert identity_key is not None
        directory = identity_key.parent
        identity = _read_identity(identity_key)
    tls_path = tls_key_file(directory, code)
    tls_key = _tls_key(tls_path)
    sealing = load_or_create_sealing_key(directory, code).public_key()
    cert = _sign(
        authority,
        code,
        tls_public=tls_key.public_key(),
        identity=identity,
        hosts=[*DEFAULT_HOSTS, node_host(code), *hosts],
        validity=validity,
        sealing=sealing,
    )
    written = _record(authority, cert)
    node_path = node_cert_file(directory, code)
    write_atomically(node_path, cert.public_bytes(Encoding.PEM))
    ca_copy = ca_cert_copy(directory)
    write_atomically(ca_copy, authority.cert.public_bytes(Encoding.PEM))
    return IssuedCertificate(cert, (tls_path, node_path, ca_copy, written))


def renew(
    authority: Authority,
    previous: x509.Certificate,
    data: Path | None = None,
    validity: datetime.timedelta = NODE_VALIDITY,
) -> IssuedCertificate:
    """A new certificate for the same keys, node and addresses as `previous`."""
    code = division_code_of(previous)
    tls_public = previous.public_key()
    if not isinstance(tls_public, ec.EllipticCurvePublicKey):
        raise TrustError(f"serial {previous.serial_number:x} does not hold an ECDSA TLS key")
    sans = previous.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    hosts = [str(name.value) for name in sans if isinstance(name, x509.DNSName | x509.IPAddress)]
    cert = _sign(
        authority,
        code,
        tls_public=tls_public,
        identity=identity_key_of(previous),
        hosts=hosts,
        validity=validity,
        sealing=sealing_key_in(uris_of(previous)),
    )
    written = [_record(authority, cert)]
    if data is not None:
        node_path = node_cert_file(data, code)
        write_atomically(node_path, cert.public_bytes(Encoding.PEM))
        written.append(node_path)
    return IssuedCertificate(cert, tuple(written))


def division_code_of(cert: x509.Certificate) -> str:
    """The division code a (verified) node certificate names in its one node URI SAN."""
    uris = uris_of(cert)
    codes = [uri.removeprefix(NODE_URI_PREFIX) for uri in uris if uri.startswith(NODE_URI_PREFIX)]
    if len(codes) != 1:
        raise TrustError(
            f"certificate {cert.serial_number:x} names {len(codes)} nodes; a node certificate "
            "names exactly one"
        )
    return parse_code(codes[0])


def identity_key_of(cert: x509.Certificate) -> Ed25519PublicKey:
    """The Ed25519 identity key (the checkpoint signer) a node certificate binds."""
    encoded = [
        uri.removeprefix(IDENTITY_URI_PREFIX)
        for uri in uris_of(cert)
        if uri.startswith(IDENTITY_URI_PREFIX)
    ]
    if len(encoded) != 1:
        raise TrustError(f"certificate {cert.serial_number:x} binds no single identity key")
    text = encoded[0]
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as error:
        raise TrustError(f"certificate {cert.serial_number:x}: bad identity key") from error


def verify_issued_by(
    cert: x509.Certificate, ca: x509.Certificate, at: datetime.datetime | None = None
) -> None:
    """Check that the network CA signed `cert` and that both are valid at `at` (now)."""
    moment = at or now()
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature) as error:
        raise TrustError(
            f"certificate {cert.serial_number:x} was not issued by the network CA "
            f"({error or 'bad signature'})"
        ) from error
    for checked in (cert, ca):
        if not checked.not_valid_before_utc <= moment <= checked.not_valid_after_utc:
            raise TrustError(f"certificate {checked.serial_number:x} is not valid at {moment}")


def uris_of(cert: x509.Certificate) -> list[str]:
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return sans.get_values_for_type(x509.UniformResourceIdentifier)


def _read_identity(path: Path) -> Ed25519PublicKey:
    try:
        loaded = load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as error:
        raise TrustError(f"{path}: cannot read the identity key ({error})") from error
    if not isinstance(loaded, Ed25519PrivateKey):
        raise TrustError(f"{path} does not hold an Ed25519 key")
    return loaded.public_key()


def _tls_key(path: Path) -> ec.EllipticCurvePrivateKey:
    if path.exists():
        try:
            loaded = load_pem_private_key(path.read_bytes(), password=None)
        except (ValueError, TypeError) as error:
            raise TrustError(f"{path}: cannot read the TLS key ({error})") from error
        if not isinstance(loaded, ec.EllipticCurvePrivateKey):
            raise TrustError(f"{path} does not hold an ECDSA key")
        return loaded
    key = ec.generate_private_key(ec.SECP256R1())
    write_private_key(path, key)
    return key


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _sign(
    authority: Authority,
    code: str,
    *,
    tls_public: ec.EllipticCurvePublicKey,
    identity: Ed25519PublicKey,
    hosts: Sequence[str],
    validity: datetime.timedelta,
    sealing: X25519PublicKey | None = None,
) -> x509.Certificate:
    network = authority.cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    subject = [x509.NameAttribute(NameOID.COMMON_NAME, code)]
    if network:
        subject.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, str(network[0].value)))
    names: list[x509.GeneralName] = [
        x509.UniformResourceIdentifier(node_uri(code)),
        x509.UniformResourceIdentifier(identity_uri(identity)),
    ]
    if sealing is not None:
        names.append(x509.UniformResourceIdentifier(sealing_uri(sealing)))
    for host in dict.fromkeys(hosts):
        names.append(_general_name(host))
    moment = now()
    ca_public = authority.cert.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name(subject))
        .issuer_name(authority.cert.subject)
        .public_key(tls_public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before(moment))
        .not_valid_after(min(moment + validity, authority.cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(tls_public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_public),  # type: ignore[arg-type]
            critical=False,
        )
        .sign(authority.key, authority.hash_algorithm)
    )


def _record(authority: Authority, cert: x509.Certificate) -> Path:
    path = authority.folder.next_issued_cert(cert.serial_number)
    write_atomically(path, cert.public_bytes(Encoding.PEM))
    return path
