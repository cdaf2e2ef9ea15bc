"""Events stored under module paths load from the Cassandra store too.

The same behaviour as `tests/ledger/test_old_names.py` on SQLite: a store
written before the stable names loads its cases through the aliases,
verifies their chains, serves them, and appends after them.
"""

from __future__ import annotations

import pytest

from tests.cassandra_fixtures import cassandra_keyspace, empty_store, store_env  # noqa: F401
from tests.ledger.old_stores import LAYOUTS, Layout
from tests.ledger.test_old_names import check_old_store

pytestmark = [pytest.mark.cassandra, pytest.mark.usefixtures("cassandra_keyspace")]


@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_a_store_written_under_module_paths_loads_verifies_and_serves_its_cases(
    layout: Layout,
) -> None:
    env = store_env("oldnames_")
    empty_store(env)
    check_old_store(env, layout)
