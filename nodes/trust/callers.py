"""Who is calling: read from the caller's verified certificate, never from a request.

The TLS handshake has already checked the certificate against the network CA
and its validity period; what is left for each call is the revocation list
(gRPC's TLS takes none) and what the certificate names: a node's division code
or a client's name.
"""

from __future__ import annotations

import enum
import threading
from collections import OrderedDict
from dataclasses import dataclass

from cryptography import x509

from caseledger.nodes.trust.certificates import division_code_of
from caseledger.nodes.trust.clients import client_name_of
from caseledger.nodes.trust.errors import TrustError
from caseledger.nodes.trust.revocation import RevocationList


class CallerKind(enum.Enum):
    NODE = "node"
    CLIENT = "client"
    ANONYMOUS = "anonymous"
    """A plaintext caller of an `--insecure` node: nothing about it is known."""


@dataclass(frozen=True)
class Caller:
    kind: CallerKind
    name: str  # a node's division code, a client's name, or "" when anonymous
    serial: int = 0

    @property
    def node(self) -> str | None:
        """The division code of a calling node, or None for any other caller."""
        return self.name if self.kind is CallerKind.NODE else None

    def __str__(self) -> str:
        return f"{self.kind.value} {self.name}".strip()


ANONYMOUS = Caller(CallerKind.ANONYMOUS, "")


class Refused(Exception):
    """The caller's certificate does not admit it; `reason` is a stable code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


_CACHE_SIZE = 256


class Callers:
    """Turns a call's peer certificate into a `Caller`, checking the revocation list
    on every call (the list is reloaded when its file changes)."""

    def __init__(self, revocations: RevocationList) -> None:
        self._revocations = revocations
        self._parsed: OrderedDict[bytes, tuple[x509.Certificate, Caller]] = OrderedDict()
        self._lock = threading.Lock()

    def of(self, pem: bytes | None) -> Caller:
        if pem is None:
            raise Refused("CERTIFICATE_MISSING", "the call carries no client certificate")
        cert, caller = self._parse(pem)
        try:
            revoked = self._revocations.is_revoked(cert)
        except TrustError as error:
            # Fail closed: without a readable list, no certificate is taken on trust.
            raise Refused("REVOCATION_LIST_UNREADABLE", str(error)) from error
        if revoked:
            raise Refused(
                "CERTIFICATE_REVOKED",
                f"certificate {cert.serial_number:x} of {caller} has been revoked",
            )
        return caller

    def certificate(self, pem: bytes) -> x509.Certificate:
        """The (already verified) certificate itself, for what else it binds."""
        return self._parse(pem)[0]

    def _parse(self, pem: bytes) -> tuple[x509.Certificate, Caller]:
        with self._lock:
            found = self._parsed.get(pem)
            if found is not None:
                self._parsed.move_to_end(pem)
                return found
        cert = x509.load_pem_x509_certificate(pem)
        client = client_name_of(cert)
        if client is not None:
            caller = Caller(CallerKind.CLIENT, client, cert.serial_number)
        else:
            try:
                caller = Caller(CallerKind.NODE, division_code_of(cert), cert.serial_number)
            except TrustError as error:
                raise Refused("CERTIFICATE_UNKNOWN_HOLDER", str(error)) from error
        with self._lock:
            self._parsed[pem] = (cert, caller)
            if len(self._parsed) > _CACHE_SIZE:
                self._parsed.popitem(last=False)
        return cert, caller
