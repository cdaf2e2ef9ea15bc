"""The event stores a test node may run on: SQLite files, or the real Cassandra node.

Suites that must hold on both take the `store_kind` fixture (tests/nodes/conftest.py),
so each test runs twice and its id names the store. A Cassandra node starts
from empty tables in each test (`fresh_nodes`); restarting it inside the test
keeps what it stored, as restarting a SQLite node does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from caseledger.nodes.config import NodeConfig
from tests import cassandra_fixtures
from tests.pki import secured

STORE_KINDS = ["sqlite", pytest.param("cassandra", marks=pytest.mark.cassandra)]


def fresh_nodes(store_kind: str, *codes: str) -> None:
    """Empty the Cassandra stores of these nodes (SQLite nodes start in a new folder)."""
    if store_kind == "cassandra":
        for code in codes:
            cassandra_fixtures.empty_node(code)


def node_config(code: str, data_dir: Path, store_kind: str, **fields: Any) -> NodeConfig:
    """A node of `store_kind`; its subject keys and handoffs stay in `data_dir`."""
    if store_kind == "cassandra":
        fields["extra_env"] = cassandra_fixtures.node_env(code)
    return secured(NodeConfig(code=code, data_dir=data_dir, store=store_kind, **fields))
