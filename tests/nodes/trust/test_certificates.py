"""Node certificates: the profile, the chain, renewal, and taking over a CA."""

from __future__ import annotations

import ipaddress
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from caseledger.ledger.audit.identity import key_file, load_or_create
from caseledger.nodes.trust import (
    Authority,
    IssuedCertificate,
    PkiFolder,
    TrustError,
    division_code_of,
    identity_key_of,
    import_ca,
    issue,
    renew,
    verify_issued_by,
)
from caseledger.nodes.trust.transport import node_host
from tests.nodes.trust.conftest import CITY, PROVINCE


def raw(key: ec.EllipticCurvePublicKey | x509.Certificate) -> bytes:
    public = key.public_key() if isinstance(key, x509.Certificate) else key
    return public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def sans(cert: x509.Certificate) -> x509.SubjectAlternativeName:
    return cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value


def test_the_ca_is_a_ca_that_signs_certificates_only_of_nodes(authority: Authority) -> None:
    constraints = authority.cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value.ca
    assert constraints.value.path_length == 0
    usage = authority.cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign
    assert usage.crl_sign
    authority.cert.verify_directly_issued_by(authority.cert)


def test_keys_are_written_0600(authority: Authority, province: IssuedCertificate) -> None:
    data = province.written[0].parent
    for path in (authority.folder.ca_key, data / f"{PROVINCE}.tls.key", key_file(data, PROVINCE)):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_a_node_certificate_names_its_division_code_in_a_uri_san(
    province: IssuedCertificate,
) -> None:
    uris = sans(province.cert).get_values_for_type(x509.UniformResourceIdentifier)
    assert f"urn:caseledger:node:{PROVINCE}" in uris
    assert division_code_of(province.cert) == PROVINCE


def test_a_node_certificate_covers_loopback_and_the_hosts_asked_for(
    authority: Authority, tmp_path: Path
) -> None:
    made = issue(authority, CITY, data=tmp_path / "city", hosts=["jinan.example", "10.0.0.7"])
    names = sans(made.cert)
    # and the name a caller dials the city by, which proves the division it reaches
    assert names.get_values_for_type(x509.DNSName) == [
        "localhost",
        node_host(CITY),
        "jinan.example",
    ]
    assert names.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("10.0.0.7"),
    ]


def test_a_node_certificate_binds_the_identity_key_its_checkpoints_are_signed_with(
    province: IssuedCertificate,
) -> None:
    data = province.written[0].parent
    identity = load_or_create(data, PROVINCE)
    assert identity_key_of(province.cert) == identity.key.public_key()


def test_issuing_by_key_file_uses_that_identity_key(authority: Authority, tmp_path: Path) -> None:
    identity = load_or_create(tmp_path / "city", CITY)
    made = issue(authority, CITY, identity_key=key_file(tmp_path / "city", CITY))
    assert identity_key_of(made.cert) == identity.key.public_key()


def test_a_node_certificate_is_for_both_ends_of_mutual_tls(province: IssuedCertificate) -> None:
    cert = province.cert
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [
        x509.oid.ExtendedKeyUsageOID.SERVER_AUTH,
        x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH,
    ]
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)


def test_the_network_ca_verifies_the_certificates_it_issued(
    authority: Authority, province: IssuedCertificate
) -> None:
    province.cert.verify_directly_issued_by(authority.cert)
    verify_issued_by(province.cert, authority.cert)


def test_a_certificate_from_another_ca_is_refused_by_the_chain_check(
    authority: Authority, foreign_authority: Authority, tmp_path: Path
) -> None:
    stranger = issue(foreign_authority, CITY, data=tmp_path / "stranger")
    with pytest.raises(TrustError, match="not issued by the network CA"):
        verify_issued_by(stranger.cert, authority.cert)


def test_an_expired_certificate_is_refused_by_the_chain_check(
    authority: Authority, province: IssuedCertificate
) -> None:
    later = province.cert.not_valid_after_utc.replace(
        year=province.cert.not_valid_after_utc.year + 1
    )
    with pytest.raises(TrustError, match="is not valid at"):
        verify_issued_by(province.cert, authority.cert, at=later)


def test_renewing_keeps_the_keys_node_and_hosts_under_a_new_serial(
    authority: Authority, province: IssuedCertificate
) -> None:
    renewed = renew(authority, province.cert)
    assert renewed.cert.serial_number != province.cert.serial_number
    assert raw(renewed.cert) == raw(province.cert)
    assert sans(renewed.cert) == sans(province.cert)
    verify_issued_by(renewed.cert, authority.cert)


def test_issuing_again_reuses_the_nodes_tls_key(
    authority: Authority, province: IssuedCertificate
) -> None:
    again = issue(authority, PROVINCE, data=province.written[0].parent)
    assert raw(again.cert) == raw(province.cert)


def test_a_bad_division_code_is_refused(authority: Authority, tmp_path: Path) -> None:
    with pytest.raises(TrustError, match="code"):
        issue(authority, "37", data=tmp_path / "node")


def test_an_existing_ca_can_be_imported_and_issues_as_its_own(
    foreign_authority: Authority, tmp_path: Path
) -> None:
    folder = PkiFolder(tmp_path / "imported")
    imported = import_ca(folder, foreign_authority.folder.ca_cert, foreign_authority.folder.ca_key)
    assert imported.cert == foreign_authority.cert
    assert stat.S_IMODE(folder.ca_key.stat().st_mode) == 0o600
    made = issue(imported, CITY, data=tmp_path / "city")
    verify_issued_by(made.cert, foreign_authority.cert)


def test_importing_a_key_that_is_not_the_certificates_is_refused(
    authority: Authority, foreign_authority: Authority, tmp_path: Path
) -> None:
    with pytest.raises(TrustError, match="is not the key of the certificate"):
        import_ca(
            PkiFolder(tmp_path / "mixed"), authority.folder.ca_cert, foreign_authority.folder.ca_key
        )


def test_importing_a_node_certificate_as_a_ca_is_refused(
    province: IssuedCertificate, tmp_path: Path
) -> None:
    data = province.written[0].parent
    tls_key = data / f"{PROVINCE}.tls.key"
    with pytest.raises(TrustError, match="not a CA certificate"):
        import_ca(PkiFolder(tmp_path / "bad"), data / f"{PROVINCE}.node.crt", tls_key)


def test_a_folder_holds_one_ca(authority: Authority, tmp_path: Path) -> None:
    other = tmp_path / "other.key"
    other.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
        )
    )
    with pytest.raises(TrustError, match="already holds a CA"):
        import_ca(authority.folder, authority.folder.ca_cert, other)


def test_a_data_folder_whose_identity_key_is_not_ed25519_is_refused(
    authority: Authority, tmp_path: Path
) -> None:
    data = tmp_path / "city"
    data.mkdir()
    key_file(data, CITY).write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
        )
    )
    with pytest.raises(TrustError, match="does not hold an Ed25519 key"):
        issue(authority, CITY, data=data)
