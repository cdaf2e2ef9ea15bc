"""Two of three Cassandra members down: the node's callers get UNAVAILABLE, saying
which consistency the store cannot meet and with how many live replicas;
nothing half-written remains; once the members are back the same node (not
restarted) serves again, and every request sent again with its request id
counts once.

A call in the seconds before the survivor's failure detector marks the
members down may time out rather than be refused (the write may or may not
have been applied): it is UNAVAILABLE too, and sent again afterwards it
finds its case or makes it, exactly once.
"""

from __future__ import annotations

import time
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from caseledger.nodes.service.server import start
from caseledger.v1 import ledger_pb2, ledger_pb2_grpc
from tests.clusters.cassandra import cluster
from tests.clusters.cassandra.appends import assert_log_exact, submitted, trail_lengths
from tests.faults.holdings import assert_acknowledged_and_verified
from tests.nodes import requests as rq
from tests.pki import client_channel
from tests.samples import LIXIA
from tests.timing import scaled, wait_for

pytestmark = [pytest.mark.cassandra_cluster, pytest.mark.usefixtures("on_cluster")]

_RPC_TIMEOUT = 60.0
_REFUSED = "cannot meet consistency"


def _refusal(error: grpc.RpcError) -> str:
    """The message of an UNAVAILABLE whose ErrorInfo names the store; fails on anything else."""
    assert error.code() is grpc.StatusCode.UNAVAILABLE, error
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    info = error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(info)
    assert info.reason == "STORE_UNAVAILABLE"
    return str(status.message)


def test_two_members_down_is_unavailable_and_the_node_serves_again_by_itself(
    tmp_path: Path, members: cluster.Members, cluster_keyspaces: list[str]
) -> None:
    keyspace = cluster.keyspace("two_down")
    cluster_keyspaces.append(keyspace)
    node = start(cluster.node_config(LIXIA, tmp_path / "node", keyspace))
    try:
        with client_channel(node.address) as channel:
            stub = ledger_pb2_grpc.LedgerServiceStub(channel)
            stub.PublishItem(rq.publish_item(), timeout=_RPC_TIMEOUT)
            acknowledged: dict[str, int] = {}
            for _ in range(10):
                reply = stub.Submit(rq.submit(), timeout=_RPC_TIMEOUT).result
                acknowledged[reply.case_number] = reply.version

            members.kill(2, 3)
            failed: list[ledger_pb2.SubmitRequest] = []
            refusals: list[str] = []
            deadline = time.monotonic() + scaled(120)
            while len(refusals) < 3:
                assert time.monotonic() < deadline, f"never refused: {failed[-1:]}"
                request = rq.submit()
                with pytest.raises(grpc.RpcError) as caught:
                    stub.Submit(request, timeout=_RPC_TIMEOUT)
                failed.append(request)
                message = _refusal(caught.value)
                if _REFUSED in message:
                    refusals.append(message)
            for message in refusals:
                assert "LOCAL_QUORUM" in message or "LOCAL_SERIAL" in message, message
                assert "and has 1" in message, message
                assert "down" in message, message
            print(f"\nwith two members down the node answers: {refusals[0]}")

            members.start(2, 3)

            def serves() -> bool:
                try:
                    reply = stub.Submit(rq.submit(), timeout=_RPC_TIMEOUT).result
                except grpc.RpcError as error:
                    _refusal(error)
                    return False
                acknowledged[reply.case_number] = reply.version
                return True

            wait_for(serves, "the node to serve again once two members are back", 180)
            again = [stub.Submit(r, timeout=_RPC_TIMEOUT).result for r in failed]
            resent = {reply.case_number: reply.version for reply in again}
            assert len(resent) == len(failed), "two requests were given one case"
            assert not resent.keys() & acknowledged.keys()
            acknowledged.update(resent)

            assert_acknowledged_and_verified(stub, acknowledged)
            assert trail_lengths(stub, acknowledged) == acknowledged
            topics = assert_log_exact(node.config.persistence_env())
            assert submitted(topics) == len(acknowledged)
    finally:
        node.stop(grace=0)
