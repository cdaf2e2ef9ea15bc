"""The fault injector every scenario of this package shares."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.network import COUNTY, TOWNSHIP, LinkedNetwork
from tests.faults.toxiproxy import Toxiproxy, address


@pytest.fixture(scope="session")
def toxiproxy() -> Toxiproxy:
    """The Toxiproxy named by CASELEDGER_TOXIPROXY; the test fails without it."""
    server = Toxiproxy(address())
    server.version()  # answers, or the test fails saying where it looked
    return server


@pytest.fixture
def township_and_county(tmp_path: Path, toxiproxy: Toxiproxy) -> Iterator[LinkedNetwork]:
    """解放路街道 and 历下区, each reaching the other through a proxy of its own."""
    built = LinkedNetwork(
        tmp_path,
        {TOWNSHIP: "解放路街道", COUNTY: "历下区"},
        links=[(COUNTY, TOWNSHIP), (TOWNSHIP, COUNTY)],
        toxiproxy=toxiproxy,
    )
    yield built
    built.close()
