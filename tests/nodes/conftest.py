"""A real node on port 0, with its SQLite store in a temporary folder or its
Cassandra store on the real node (`store_kind`: each test runs on both)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from caseledger.nodes.service.server import RunningNode, start
from caseledger.v1 import ledger_pb2_grpc
from tests.cassandra_fixtures import cassandra_keyspace  # noqa: F401
from tests.nodes.stores import STORE_KINDS, fresh_nodes, node_config
from tests.pki import client_channel
from tests.samples import LIXIA


@pytest.fixture(params=STORE_KINDS)
def store_kind(request: pytest.FixtureRequest) -> str:
    """`sqlite` or `cassandra`; the Cassandra keyspaces are dropped when the session ends."""
    kind: str = request.param
    if kind == "cassandra":
        request.getfixturevalue("cassandra_keyspace")
    return kind


@pytest.fixture
def node(tmp_path: Path, store_kind: str) -> Iterator[RunningNode]:
    fresh_nodes(store_kind, LIXIA)
    running = start(node_config(LIXIA, tmp_path, store_kind, allow_client_time=True))
    yield running
    running.stop(grace=0)


@pytest.fixture
def stub(node: RunningNode) -> Iterator[ledger_pb2_grpc.LedgerServiceStub]:
    with client_channel(node.address) as channel:
        yield ledger_pb2_grpc.LedgerServiceStub(channel)
