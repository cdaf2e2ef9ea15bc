"""Where the network PKI keeps its files, and how they are written.

The PKI folder (the CA's, kept by the province):

    ca.key            the CA's private key (PKCS#8 PEM, mode 0600)
    ca.crt            the CA's self-signed certificate
    ca.crl            the revocation list, signed by the CA
    issued/<n>-<serial>.crt  every node certificate issued: its number in issue order,
                      its serial in hex

A node's data folder, beside its identity key `<code>.identity.key`:

    <code>.tls.key    the node's TLS key (ECDSA P-256, mode 0600)
    <code>.node.crt   its certificate, binding the TLS key and the identity key
    ca.crt            the network CA's certificate, to check peers against
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)

CA_KEY = "ca.key"
CA_CERT = "ca.crt"
CRL = "ca.crl"
ISSUED = "issued"


@dataclass(frozen=True)
class PkiFolder:
    """The CA's folder."""

    root: Path

    @property
    def ca_key(self) -> Path:
        return self.root / CA_KEY

    @property
    def ca_cert(self) -> Path:
        return self.root / CA_CERT

    @property
    def crl(self) -> Path:
        return self.root / CRL

    @property
    def issued(self) -> Path:
        return self.root / ISSUED

    def issued_files(self) -> list[Path]:
        """The issued certificates' files, in the order they were issued."""
        return sorted(self.issued.glob("*.crt"))

    def next_issued_cert(self, serial: int) -> Path:
        """Where the next certificate goes: numbered, so the folder keeps the issue order."""
        files = self.issued_files()
        number = int(files[-1].name.split("-", 1)[0]) + 1 if files else 1
        return self.issued / f"{number:06d}-{serial:x}.crt"


def tls_key_file(directory: Path, code: str) -> Path:
    return directory / f"{code}.tls.key"


def node_cert_file(directory: Path, code: str) -> Path:
    return directory / f"{code}.node.crt"


def ca_cert_copy(directory: Path) -> Path:
    return directory / CA_CERT


def write_atomically(path: Path, content: bytes, mode: int = 0o644) -> None:
    """Write under a temporary name, then rename: a reader sees the old file or the
    new one, never half of one; a crash leaves no half-written key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    # os.open's mode is masked by the umask, and an existing partial keeps its mode.
    os.fchmod(descriptor, mode)
    with os.fdopen(descriptor, "wb") as out:
        out.write(content)
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, path)


def write_private_key(path: Path, key: CertificateIssuerPrivateKeyTypes) -> None:
    """A private key, PKCS#8 PEM, mode 0600."""
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    write_atomically(path, pem, 0o600)
