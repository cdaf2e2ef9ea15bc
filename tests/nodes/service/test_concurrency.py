"""Many clients on one case at once, on a node that keeps its own time."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from caseledger.ledger.trail.canonical import GENESIS, digest
from caseledger.nodes.config import NodeConfig
from caseledger.nodes.service.server import RunningNode, start
from caseledger.v1 import ledger_pb2, ledger_pb2_grpc, types_pb2
from tests.nodes import requests as rq
from tests.pki import client_channel, secured
from tests.samples import LIXIA


@pytest.fixture
def own_time(tmp_path: Path) -> Iterator[RunningNode]:
    node = start(secured(NodeConfig(code=LIXIA, data_dir=tmp_path)))
    yield node
    node.stop(grace=0)


def test_concurrent_commands_on_one_case_all_land_in_time_order(own_time: RunningNode) -> None:
    with client_channel(own_time.address) as channel:
        stub = ledger_pb2_grpc.LedgerServiceStub(channel)
        stub.PublishItem(ledger_pb2.PublishItemRequest(terms=rq.item_terms(), meta=rq.publisher()))
        number = stub.Submit(rq.submit(client_time=False)).result.case_number
        stub.Accept(
            ledger_pb2.AcceptRequest(
                meta=rq.meta(client_time=False), case=number, notice_no="受1号"
            )
        )

        def step(_: int) -> int:
            request = ledger_pb2.RecordStepRequest(
                meta=rq.meta(client_time=False), case=number, step="审查", handler="李四",
                opinion="同意", action=types_pb2.STEP_ACTION_PASS,
            )  # fmt: skip
            return stub.RecordStep(request).result.version

        with ThreadPoolExecutor(max_workers=8) as pool:
            versions = list(pool.map(step, range(80)))
    assert sorted(versions) == list(range(3, 83))
    trail = own_time.ledger.trail(number)
    previous = GENESIS
    for event in trail:
        assert (event.prev_hash, digest(event.hashed_form())) == (previous, event.hash)
        previous = event.hash
    times = [event.timestamp for event in trail]
    assert all(earlier <= later for earlier, later in itertools.pairwise(times))
