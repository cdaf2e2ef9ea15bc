"""Settings every test shares."""

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

from caseledger.cli.connect import TLS_ENV, TOKEN_ENV
from tests.pki import shared_pki

# Hypothesis's per-example deadline is a timing assertion: on two shared cores
# it fails examples that are correct but slow. Speed is measured by the
# benchmarks, never by tests.
settings.register_profile("caseledger", deadline=None)
settings.load_profile("caseledger")


@pytest.fixture(autouse=True, scope="session")
def _cli_client_certificate() -> Iterator[None]:
    """The CLI under test presents the shared test PKI's client certificate and the
    province machine account's token, as an operator's CLI presents theirs
    (`CASELEDGER_TLS`, `CASELEDGER_TOKEN`); subprocesses inherit them."""
    before = os.environ.get(TLS_ENV)
    token_before = os.environ.get(TOKEN_ENV)
    os.environ[TLS_ENV] = str(shared_pki().client_folder())
    os.environ[TOKEN_ENV] = shared_pki().token
    yield
    for name, value in ((TLS_ENV, before), (TOKEN_ENV, token_before)):
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
