"""The fault injector every scenario of this package shares."""

from __future__ import annotations

import pytest

from tests.faults.toxiproxy import Toxiproxy, address


@pytest.fixture(scope="session")
def toxiproxy() -> Toxiproxy:
    """The Toxiproxy named by CASELEDGER_TOXIPROXY; the test fails without it."""
    server = Toxiproxy(address())
    server.version()  # answers, or the test fails saying where it looked
    return server
