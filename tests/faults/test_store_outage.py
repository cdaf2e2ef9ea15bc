"""A node whose Cassandra store goes out of reach: its callers are told UNAVAILABLE,
with the store named as the cause, nothing is written, and the node serves again
by itself once the store is back."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from caseledger.nodes.service.server import RunningNode, start
from caseledger.v1 import ledger_pb2_grpc
from tests import cassandra_fixtures
from tests.cassandra_fixtures import cassandra_keyspace  # noqa: F401 - the fixture used below
from tests.faults.toxiproxy import Proxy, Toxiproxy
from tests.nodes import requests as rq
from tests.nodes.stores import node_config
from tests.pki import client_channel
from tests.timing import wait_for

pytestmark = [pytest.mark.toxiproxy, pytest.mark.cassandra]

LIXIA = "370102000000"


@pytest.fixture
def behind_proxy(
    tmp_path: Path,
    toxiproxy: Toxiproxy,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> Iterator[tuple[RunningNode, Proxy]]:
    request.getfixturevalue("cassandra_keyspace")
    cassandra_fixtures.empty_node(LIXIA)
    proxy = toxiproxy.create(
        f"caseledger-store-{uuid.uuid4().hex[:8]}", cassandra_fixtures.address()
    )
    config = node_config(LIXIA, tmp_path / "node", "cassandra", allow_client_time=True)
    config = replace(
        config, extra_env={**config.extra_env, "CASSANDRA_CONTACT_POINTS": proxy.listen}
    )
    # The node must reach its store through the proxy, not the address the
    # environment gives every store of this process.
    monkeypatch.delenv(cassandra_fixtures.ADDRESS)
    node = start(config)
    yield node, proxy
    proxy.up()
    node.stop(grace=0)
    proxy.delete()


def test_a_store_out_of_reach_is_unavailable_and_the_node_recovers_by_itself(
    behind_proxy: tuple[RunningNode, Proxy],
) -> None:
    node, proxy = behind_proxy
    stub = ledger_pb2_grpc.LedgerServiceStub(client_channel(node.address))
    stub.PublishItem(rq.publish_item())
    stub.Submit(rq.submit())
    written = node.ledger.recorder.max_notification_id()

    proxy.down()
    with pytest.raises(grpc.RpcError) as caught:
        stub.Submit(rq.submit(), timeout=60)
    assert caught.value.code() is grpc.StatusCode.UNAVAILABLE, caught.value
    status = rpc_status.from_call(caught.value)  # type: ignore[arg-type]
    assert status is not None
    info = error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(info)
    assert info.reason == "STORE_UNAVAILABLE"

    proxy.up()

    def serves() -> bool:
        try:
            stub.Submit(rq.submit(), timeout=30)
        except grpc.RpcError as error:
            if error.code() is not grpc.StatusCode.UNAVAILABLE:
                raise
            return False
        return True

    wait_for(serves, "the node to serve again once its store is back")
    assert (node.ledger.recorder.max_notification_id() or 0) > (written or 0)
