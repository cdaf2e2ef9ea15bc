"""A node whose log was cut behind its Merkle tree refuses to append, as damage."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from caseledger.nodes.config import NodeConfig
from caseledger.nodes.service.server import RunningNode, start
from caseledger.v1 import ledger_pb2_grpc
from tests.nodes import requests as rq
from tests.pki import client_channel, secured
from tests.samples import LIXIA


@pytest.fixture
def sqlite_node(tmp_path: Path) -> Iterator[RunningNode]:
    node = start(secured(NodeConfig(code=LIXIA, data_dir=tmp_path, allow_client_time=True)), ())
    try:
        yield node
    finally:
        node.stop(grace=0)


def reason_of(error: grpc.RpcError) -> tuple[str, dict[str, str]]:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return str(info.reason), dict(info.metadata)
    raise AssertionError("no ErrorInfo")


def test_an_append_after_the_log_tail_was_cut_is_data_loss_naming_the_cut(
    sqlite_node: RunningNode, tmp_path: Path
) -> None:
    with client_channel(sqlite_node.address) as channel:
        stub = ledger_pb2_grpc.LedgerServiceStub(channel)
        stub.PublishItem(rq.publish_item())
        stub.Submit(rq.submit())
        with sqlite3.connect(tmp_path / f"{LIXIA}.events.sqlite") as conn:
            (last,) = conn.execute("SELECT MAX(rowid) FROM stored_events").fetchone()
            conn.execute("DELETE FROM stored_events WHERE rowid = ?", (last,))

        with pytest.raises(grpc.RpcError) as refused:
            stub.Submit(rq.submit())

    assert refused.value.code() is grpc.StatusCode.DATA_LOSS
    reason, metadata = reason_of(refused.value)
    assert reason == "LOG_CUT"
    assert metadata == {"tree_size": str(last), "position": str(last)}
