"""`caseledger network pki ...` end to end: the CLI hands its arguments to
`python -m caseledger.nodes pki`, which does the work on the files."""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509

from caseledger.ledger.audit.identity import key_file, load_or_create
from caseledger.nodes.trust import RevocationList, division_code_of, identity_key_of
from tests.nodes.trust.conftest import CITY, PROVINCE

_CLI = "from caseledger.cli.main import main; main()"


def pki(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _CLI, "network", "pki", *args],
        check=False, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def ok(*args: str) -> str:
    result = pki(*args)
    assert result.returncode == 0, result.stderr
    return result.stdout


@dataclass(frozen=True)
class Network:
    root: Path
    init: str
    issued: str
    renewed: str

    @property
    def pki(self) -> Path:
        return self.root / "pki"

    @property
    def province(self) -> Path:
        return self.root / "province"

    @property
    def city(self) -> Path:
        return self.root / "city"


def cert_of(data: Path, code: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate((data / f"{code}.node.crt").read_bytes())


def serial_in(output: str) -> int:
    """The serial an `issue` or `renew` printed (`node CODE serial HEX`)."""
    return int(output.split()[3], 16)


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Network:
    """A CA, the province issued from its data folder and the city from its key file,
    and the province renewed: made once, through the CLI, for the tests that read."""
    root = tmp_path_factory.mktemp("network")
    init = ok("init", "--network", "shandong", "--dir", str(root / "pki"))
    issued = ok("issue", PROVINCE, "--dir", str(root / "pki"), "--data", str(root / "province"))
    load_or_create(root / "city", CITY)
    ok("issue", CITY, "--dir", str(root / "pki"), "--key", str(key_file(root / "city", CITY)))
    renewed = ok("renew", PROVINCE, "--dir", str(root / "pki"), "--data", str(root / "province"))
    return Network(root, init, issued, renewed)


def test_init_makes_the_ca_with_its_key_0600(network: Network) -> None:
    assert "CA CN=shandong caseledger network CA,O=shandong" in network.init
    assert stat.S_IMODE((network.pki / "ca.key").stat().st_mode) == 0o600
    ca = x509.load_pem_x509_certificate((network.pki / "ca.crt").read_bytes())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_issue_writes_the_certificate_and_a_0600_tls_key_beside_the_identity_key(
    network: Network,
) -> None:
    for code, data in ((PROVINCE, network.province), (CITY, network.city)):
        cert = cert_of(data, code)
        assert division_code_of(cert) == code
        assert identity_key_of(cert) == load_or_create(data, code).key.public_key()
        assert stat.S_IMODE((data / f"{code}.tls.key").stat().st_mode) == 0o600
        ca = x509.load_pem_x509_certificate((data / "ca.crt").read_bytes())
        cert.verify_directly_issued_by(ca)


def test_renew_writes_a_new_certificate_for_the_same_key(network: Network) -> None:
    first, second = serial_in(network.issued), serial_in(network.renewed)
    assert first != second
    cert = cert_of(network.province, PROVINCE)
    assert cert.serial_number == second
    issued = network.pki / "issued"
    (old,) = issued.glob(f"*-{first:x}.crt")
    previous = x509.load_pem_x509_certificate(old.read_bytes())
    assert cert.public_key() == previous.public_key()


def test_list_shows_every_certificate_issued_and_its_state(network: Network) -> None:
    lines = ok("list", "--dir", str(network.pki)).splitlines()
    assert lines[0].split() == ["CODE", "SERIAL", "NOT", "AFTER", "STATE"]
    rows = [(line.split()[0], int(line.split()[1], 16), line.split()[3]) for line in lines[1:]]
    assert rows == [
        (PROVINCE, serial_in(network.issued), "superseded"),
        (CITY, rows[1][1], "valid"),
        (PROVINCE, serial_in(network.renewed), "valid"),
    ]


def test_revoke_reaches_a_live_reader_and_the_list(network: Network, tmp_path: Path) -> None:
    folder = tmp_path / "pki"
    shutil.copytree(network.pki, folder)
    ca = x509.load_pem_x509_certificate((folder / "ca.crt").read_bytes())
    reader = RevocationList(folder / "ca.crl", ca)
    province = cert_of(network.province, PROVINCE)
    assert not reader.is_revoked(province)
    output = ok("revoke", PROVINCE, "--reason", "key_compromise", "--dir", str(folder))
    assert f"revoked {province.serial_number:x}" in output
    assert reader.is_revoked(province)
    assert not reader.is_revoked(cert_of(network.city, CITY))
    listed = ok("list", "--dir", str(folder))
    assert listed.count("revoked (key_compromise)") == 2


def test_import_takes_over_an_existing_ca(network: Network, tmp_path: Path) -> None:
    folder = tmp_path / "imported"
    output = ok(
        "import",
        "--cert", str(network.pki / "ca.crt"),
        "--key", str(network.pki / "ca.key"),
        "--dir", str(folder),
    )  # fmt: skip
    assert "CA CN=shandong caseledger network CA" in output
    assert (folder / "ca.crt").read_bytes() == (network.pki / "ca.crt").read_bytes()
    assert stat.S_IMODE((folder / "ca.key").stat().st_mode) == 0o600
    assert ok("list", "--dir", str(folder)).strip() == "no certificates issued"


def test_errors_name_what_is_wrong_and_exit_1(network: Network) -> None:
    result = pki("revoke", "abcdef", "--reason", "superseded", "--dir", str(network.pki))
    assert result.returncode == 1
    assert "caseledger network pki revoke: this CA issued no certificate with serial abcdef" in (
        result.stderr
    )
    result = pki("init", "--network", "again", "--dir", str(network.pki))
    assert result.returncode == 1
    assert "already holds a CA" in result.stderr


def test_a_missing_required_argument_is_a_usage_error(network: Network) -> None:
    result = pki("revoke", PROVINCE, "--dir", str(network.pki))
    assert result.returncode == 2
    assert "usage: caseledger network pki revoke" in result.stderr
    assert "--reason" in result.stderr
