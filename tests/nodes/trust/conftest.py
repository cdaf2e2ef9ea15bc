"""A network CA in a temporary PKI folder, and a node certificate it issued."""

from __future__ import annotations

from pathlib import Path

import pytest

from caseledger.nodes.trust import Authority, IssuedCertificate, PkiFolder, init_ca, issue

PROVINCE = "370000000000"
CITY = "370100000000"


@pytest.fixture
def authority(tmp_path: Path) -> Authority:
    return init_ca(PkiFolder(tmp_path / "pki"), "shandong")


@pytest.fixture
def foreign_authority(tmp_path: Path) -> Authority:
    """Another network's CA: nothing it issues is trusted here."""
    return init_ca(PkiFolder(tmp_path / "foreign-pki"), "elsewhere")


@pytest.fixture
def province(authority: Authority, tmp_path: Path) -> IssuedCertificate:
    return issue(authority, PROVINCE, data=tmp_path / "province")
