"""One Cassandra member killed (SIGKILL) while clients append to a node on the
cluster: the appends go on (two of three replicas make LOCAL_QUORUM and the
Paxos quorum), none fails, and once the member is back every acknowledged
event is there once, every trail verifies.

What an operator sees is the longest call under way from the kill on: the
driver's in-flight requests to the dead member fail over to the next host,
and the survivors' failure detector stops sending it work a few seconds
later. The test prints it; it asserts no timing.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from caseledger.nodes.service.server import start
from caseledger.v1 import ledger_pb2_grpc
from tests.clusters.cassandra import cluster
from tests.clusters.cassandra.appends import Appenders, assert_log_exact, trail_lengths
from tests.faults.holdings import assert_acknowledged_and_verified
from tests.nodes import requests as rq
from tests.pki import client_channel
from tests.samples import LIXIA
from tests.timing import wait_for

pytestmark = [pytest.mark.cassandra_cluster, pytest.mark.usefixtures("on_cluster")]

# Appends after the kill: past the survivors' failure detector marking it down.
_AFTER_KILL_S = 20.0


def test_appends_go_on_while_one_member_is_killed(
    tmp_path: Path, members: cluster.Members, cluster_keyspaces: list[str]
) -> None:
    keyspace = cluster.keyspace("one_killed")
    cluster_keyspaces.append(keyspace)
    node = start(cluster.node_config(LIXIA, tmp_path / "node", keyspace))
    try:
        with client_channel(node.address) as channel:
            stub = ledger_pb2_grpc.LedgerServiceStub(channel)
            stub.PublishItem(rq.publish_item(), timeout=60)
            appenders = Appenders(stub)
            appenders.start()
            try:
                wait_for(lambda: appenders.count() >= 30, "appends before the kill", 120)
                before = appenders.count()
                killed_at = members.kill(2)
                wait_for(
                    lambda: (
                        time.monotonic() - killed_at > _AFTER_KILL_S
                        and appenders.count() >= before + 30
                    ),
                    "appends with member 2 dead",
                    180,
                )
            finally:
                appenders.stop()
            longest = appenders.longest_since(killed_at)
            print(
                f"\nmember 2 killed: {appenders.count() - before} events acknowledged after; "
                f"longest call from the kill on {longest.seconds:.2f} s, "
                f"{longest.started - killed_at:+.2f} s after the kill"
            )
            assert appenders.failures() == []
            members.start(2)
            assert_acknowledged_and_verified(stub, appenders.acknowledged)
            assert_log_exact(node.config.persistence_env())
            # Every call was answered, so a case holds exactly what was acknowledged.
            assert trail_lengths(stub, appenders.acknowledged) == appenders.acknowledged
    finally:
        node.stop(grace=0)
