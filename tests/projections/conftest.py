"""The store every view test runs on: SQLite, then PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.projections.stores import ViewStore

STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=STORES)
def views_store(request: pytest.FixtureRequest) -> Iterator[ViewStore]:
    """Fresh views of one store for the test (once `sqlite`, once `postgres`), all
    closed and dropped when it ends."""
    store = ViewStore(str(request.param))
    yield store
    store.close_all()
