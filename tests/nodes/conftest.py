"""A real node on port 0 with its SQLite store in a temporary folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from caseledger.nodes.config import NodeConfig
from caseledger.nodes.server import RunningNode, start
from caseledger.v1 import ledger_pb2_grpc
from tests.samples import LIXIA


@pytest.fixture
def node(tmp_path: Path) -> Iterator[RunningNode]:
    running = start(NodeConfig(code=LIXIA, data_dir=tmp_path, allow_client_time=True))
    yield running
    running.stop(grace=0)


@pytest.fixture
def stub(node: RunningNode) -> Iterator[ledger_pb2_grpc.LedgerServiceStub]:
    with grpc.insecure_channel(node.address) as channel:
        yield ledger_pb2_grpc.LedgerServiceStub(channel)
