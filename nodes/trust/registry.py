"""The certificates a CA has issued, and the state of each."""

from __future__ import annotations

import datetime
import enum
from dataclasses import dataclass

from cryptography import x509

from caseledger.nodes.trust.authority import Authority, now
from caseledger.nodes.trust.certificates import division_code_of
from caseledger.nodes.trust.clients import client_name_of
from caseledger.nodes.trust.errors import TrustError
from caseledger.nodes.trust.revocation import read_crl, revocations


class State(enum.Enum):
    VALID = "valid"
    SUPERSEDED = "superseded"
    """Still valid, but a later certificate was issued to the same node."""
    REVOKED = "revoked"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Entry:
    code: str
    cert: x509.Certificate
    state: State
    reason: x509.ReasonFlags | None

    @property
    def serial(self) -> int:
        return self.cert.serial_number


def issued(authority: Authority, at: datetime.datetime | None = None) -> list[Entry]:
    """Every certificate in the PKI folder, in the order they were issued."""
    moment = at or now()
    revoked = {entry.serial: entry.reason for entry in revocations(read_crl(authority.folder.crl))}
    certs = []
    for path in authority.folder.issued_files():
        try:
            certs.append(x509.load_pem_x509_certificate(path.read_bytes()))
        except ValueError as error:
            raise TrustError(f"{path}: not a PEM certificate ({error})") from error
    latest = {holder_of(cert): cert.serial_number for cert in certs}
    entries = []
    for cert in certs:
        code = holder_of(cert)
        if cert.serial_number in revoked:
            state = State.REVOKED
        elif moment > cert.not_valid_after_utc:
            state = State.EXPIRED
        elif latest[code] != cert.serial_number:
            state = State.SUPERSEDED
        else:
            state = State.VALID
        entries.append(Entry(code, cert, state, revoked.get(cert.serial_number)))
    return entries


def holder_of(cert: x509.Certificate) -> str:
    """Who a certificate was issued to: a node's division code, or `client:` and a name."""
    client = client_name_of(cert)
    return f"client:{client}" if client is not None else division_code_of(cert)


def latest_of(authority: Authority, code: str) -> x509.Certificate:
    """The most recent certificate issued to node CODE."""
    mine = [entry.cert for entry in issued(authority) if entry.code == code]
    if not mine:
        raise TrustError(f"no certificate was issued to {code}")
    return mine[-1]
