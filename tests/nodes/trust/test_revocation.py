"""The revocation list: signed by the CA, rewritten whole on each revoke, and read
by a live node without a restart."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest
from cryptography import x509

from caseledger.nodes.trust import (
    Authority,
    IssuedCertificate,
    RevocationList,
    State,
    TrustError,
    issue,
    issued,
    renew,
    revoke,
)
from tests.nodes.trust.conftest import CITY


def test_a_new_ca_starts_with_an_empty_list_it_signed(authority: Authority) -> None:
    crl = x509.load_pem_x509_crl(authority.folder.crl.read_bytes())
    assert len(crl) == 0
    assert crl.is_signature_valid(authority.cert.public_key())  # type: ignore[arg-type]


def test_a_live_reader_sees_a_revocation_without_a_restart(
    authority: Authority, province: IssuedCertificate
) -> None:
    reader = RevocationList(authority.folder.crl, authority.cert)
    assert not reader.is_revoked(province.cert)
    revoke(authority, [province.cert.serial_number], x509.ReasonFlags.key_compromise)
    assert reader.is_revoked(province.cert)


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_gate_reader_sees_a_revocation_once_its_recheck_has_passed(
    authority: Authority, province: IssuedCertificate
) -> None:
    clock = Clock()
    reader = RevocationList(authority.folder.crl, authority.cert, recheck=1.0, clock=clock)
    assert not reader.is_revoked(province.cert)
    revoke(authority, [province.cert.serial_number], x509.ReasonFlags.key_compromise)
    clock.now += 0.5
    assert not reader.is_revoked(province.cert)  # the list read half a second ago
    clock.now += 0.5
    assert reader.is_revoked(province.cert)


def test_a_gate_reader_fails_closed_on_a_missing_list_once_its_recheck_has_passed(
    authority: Authority, province: IssuedCertificate
) -> None:
    clock = Clock()
    reader = RevocationList(authority.folder.crl, authority.cert, recheck=1.0, clock=clock)
    assert not reader.is_revoked(province.cert)
    authority.folder.crl.unlink()
    clock.now += 1.0
    with pytest.raises(TrustError, match="cannot read the revocation list"):
        reader.is_revoked(province.cert)
    with pytest.raises(TrustError):  # a failed look is not remembered as a good one
        reader.is_revoked(province.cert)


def test_revoking_adds_to_the_list_and_keeps_what_was_there(
    authority: Authority, province: IssuedCertificate, tmp_path: Path
) -> None:
    city = issue(authority, CITY, data=tmp_path / "city")
    revoke(authority, [province.cert.serial_number], x509.ReasonFlags.superseded)
    revoke(authority, [city.cert.serial_number], x509.ReasonFlags.cessation_of_operation)
    crl = x509.load_pem_x509_crl(authority.folder.crl.read_bytes())
    reasons = {
        entry.serial_number: entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
        for entry in crl
    }
    assert reasons == {
        province.cert.serial_number: x509.ReasonFlags.superseded,
        city.cert.serial_number: x509.ReasonFlags.cessation_of_operation,
    }
    number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    assert number == 3
    assert stat.S_IMODE(authority.folder.crl.stat().st_mode) == 0o644


def test_revoking_twice_changes_nothing(authority: Authority, province: IssuedCertificate) -> None:
    serial = province.cert.serial_number
    assert revoke(authority, [serial], x509.ReasonFlags.key_compromise) == [serial]
    before = authority.folder.crl.read_bytes()
    assert revoke(authority, [serial], x509.ReasonFlags.superseded) == []
    assert authority.folder.crl.read_bytes() == before


def test_the_list_shows_each_certificates_state(
    authority: Authority, province: IssuedCertificate
) -> None:
    renewed = renew(authority, province.cert)
    assert [(entry.serial, entry.state) for entry in issued(authority)] == [
        (province.cert.serial_number, State.SUPERSEDED),
        (renewed.cert.serial_number, State.VALID),
    ]
    revoke(authority, [renewed.cert.serial_number], x509.ReasonFlags.key_compromise)
    later = renewed.cert.not_valid_after_utc.replace(year=renewed.cert.not_valid_after_utc.year + 1)
    states = [(entry.state, entry.reason) for entry in issued(authority, at=later)]
    assert states == [(State.EXPIRED, None), (State.REVOKED, x509.ReasonFlags.key_compromise)]


def test_a_list_signed_by_another_ca_is_refused(
    authority: Authority, foreign_authority: Authority, province: IssuedCertificate
) -> None:
    shutil.copyfile(foreign_authority.folder.crl, authority.folder.crl)
    reader = RevocationList(authority.folder.crl, authority.cert)
    with pytest.raises(TrustError, match="not signed by the network CA"):
        reader.is_revoked(province.cert)


def test_a_missing_list_fails_closed(authority: Authority, province: IssuedCertificate) -> None:
    reader = RevocationList(authority.folder.crl, authority.cert)
    assert not reader.is_revoked(province.cert)
    authority.folder.crl.unlink()
    with pytest.raises(TrustError, match="cannot read the revocation list"):
        reader.is_revoked(province.cert)


def test_the_ca_does_not_extend_a_list_it_did_not_sign(
    authority: Authority, foreign_authority: Authority, province: IssuedCertificate
) -> None:
    shutil.copyfile(foreign_authority.folder.crl, authority.folder.crl)
    with pytest.raises(TrustError, match="not signed by this CA"):
        revoke(authority, [province.cert.serial_number], x509.ReasonFlags.key_compromise)
