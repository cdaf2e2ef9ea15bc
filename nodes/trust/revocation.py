"""The network's revocation list (CRL): written by the CA on each revoke, read by
nodes, which pick up a new list without a restart.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from caseledger.nodes.trust.authority import Authority, now
from caseledger.nodes.trust.errors import TrustError
from caseledger.nodes.trust.layout import write_atomically

GATE_RECHECK = 1.0
"""Seconds a node's gate answers from the list it last read before it looks at
the file again: a stat per call was 2% of a busy node's time, and a revoke
copied to a node is then refused at most this long after."""

CRL_VALIDITY = datetime.timedelta(days=30)
"""A list's next update: the CA re-signs it (any revoke does) before then."""

REASONS: dict[str, x509.ReasonFlags] = {
    flag.name: flag
    for flag in x509.ReasonFlags
    if flag not in (x509.ReasonFlags.remove_from_crl, x509.ReasonFlags.aa_compromise)
}
"""The reasons `revoke` takes, by their RFC 5280 names in snake case."""


@dataclass(frozen=True)
class Revocation:
    serial: int
    revoked_at: datetime.datetime
    reason: x509.ReasonFlags


def read_crl(path: Path) -> x509.CertificateRevocationList:
    try:
        return x509.load_pem_x509_crl(path.read_bytes())
    except FileNotFoundError as error:
        raise TrustError(f"{path}: no revocation list") from error
    except ValueError as error:
        raise TrustError(f"{path}: not a PEM revocation list ({error})") from error


def revocations(crl: x509.CertificateRevocationList) -> list[Revocation]:
    entries = []
    for entry in crl:
        try:
            reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
        except x509.ExtensionNotFound:
            reason = x509.ReasonFlags.unspecified
        entries.append(Revocation(entry.serial_number, entry.revocation_date_utc, reason))
    return entries


def write_crl(
    authority: Authority, entries: Iterable[Revocation]
) -> x509.CertificateRevocationList:
    """Sign a list of `entries` and replace the CA's list with it, atomically."""
    number = 1
    if authority.folder.crl.exists():
        previous = read_crl(authority.folder.crl)
        with contextlib.suppress(x509.ExtensionNotFound):
            number = (
                previous.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number + 1
            )
    moment = now()
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(authority.cert.subject)
        .last_update(moment)
        .next_update(moment + CRL_VALIDITY)
        .add_extension(x509.CRLNumber(number), critical=False)
    )
    for entry in entries:
        revoked = (
            x509.RevokedCertificateBuilder()
            .serial_number(entry.serial)
            .revocation_date(entry.revoked_at)
        )
        # RFC 5280: reason code unspecified is left out rather than written.
        if entry.reason is not x509.ReasonFlags.unspecified:
            revoked = revoked.add_extension(x509.CRLReason(entry.reason), critical=False)
        builder = builder.add_revoked_certificate(revoked.build())
    crl = builder.sign(authority.key, authority.hash_algorithm)
    write_atomically(authority.folder.crl, crl.public_bytes(Encoding.PEM))
    return crl


def revoke(authority: Authority, serials: Iterable[int], reason: x509.ReasonFlags) -> list[int]:
    """Add `serials` to the CA's list; returns those newly revoked (the others already were)."""
    crl = read_crl(authority.folder.crl)
    if not crl.is_signature_valid(authority.cert.public_key()):  # type: ignore[arg-type]
        raise TrustError(f"{authority.folder.crl}: not signed by this CA; not extending it")
    current = revocations(crl)
    known = {entry.serial for entry in current}
    added = [serial for serial in dict.fromkeys(serials) if serial not in known]
    if added:
        moment = now()
        write_crl(authority, [*current, *(Revocation(s, moment, reason) for s in added)])
    return added


class RevocationList:
    """The network's revocation list as a node reads it: reloaded, and its signature
    checked against the CA, whenever the file changes (a rename or a new mtime), so a
    revoke reaches a running node without a restart.

    It fails closed: a missing, unreadable or wrongly signed list raises TrustError
    from `is_revoked`, and no peer is taken on trust.

    With `recheck` > 0 the file is looked at no more often than once per
    `recheck` seconds (of `clock`): between two looks the list last read is
    answered, so a revoke is seen at most `recheck` seconds after the file
    changed. 0 looks at every call.
    """

    def __init__(
        self,
        path: Path,
        ca: x509.Certificate,
        recheck: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.ca = ca
        self._recheck = recheck
        self._clock = clock
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._looked: float | None = None
        self._serials: frozenset[int] = frozenset()

    def is_revoked(self, cert: x509.Certificate) -> bool:
        return cert.serial_number in self.serials()

    def serials(self) -> frozenset[int]:
        """The revoked serials, reloading the file first if it has changed (looked
        at no more often than `recheck` allows)."""
        with self._lock:
            moment = self._clock()
            if self._looked is not None and moment - self._looked < self._recheck:
                return self._serials
            try:
                status = os.stat(self.path)
            except OSError as error:
                raise TrustError(
                    f"{self.path}: cannot read the revocation list ({error})"
                ) from error
            stamp = (status.st_ino, status.st_mtime_ns, status.st_size)
            if stamp != self._stamp:
                self._serials = self._load()
                self._stamp = stamp
            # Only after a good read: a list that failed is looked at again next call.
            self._looked = moment
            return self._serials

    def _load(self) -> frozenset[int]:
        crl = read_crl(self.path)
        if crl.issuer != self.ca.subject or not crl.is_signature_valid(
            self.ca.public_key()  # type: ignore[arg-type]
        ):
            raise TrustError(f"{self.path}: the revocation list is not signed by the network CA")
        return frozenset(entry.serial_number for entry in crl)
