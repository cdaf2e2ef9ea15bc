"""A node on Cassandra killed -9 while clients append, and started again from its
network file: it serves, nothing it acknowledged is missing, and its log and its
case streams hold the same events (the log gap-free).

The node (历下区) is its own process, run from a network file whose store is
`{kind: cassandra, lease_seconds: 2}`: the restarted process waits for the
dead one's lease to run out, fences it, repairs what the kill cut short, and
only then listens.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
import yaml

from caseledger.ledger.trail.canonical import GENESIS
from caseledger.v1 import ledger_pb2, ledger_pb2_grpc
from tests import cassandra_fixtures as cf
from tests.nodes import requests as rq
from tests.nodes.processes import NodeProcess, free_ports
from tests.nodes.replication.feeds import wait_for
from tests.pki import client_channel, shared_pki
from tests.samples import LIXIA

pytestmark = [pytest.mark.cassandra, pytest.mark.usefixtures("cassandra_keyspace")]

_CLIENTS = 3
_BEFORE_KILL = 100  # acknowledged commands before the kill
_RPC_TIMEOUT = 10.0


def cassandra_network(folder: Path, port: int) -> Path:
    """A one-node network file: 历下区 on this session's Cassandra keyspace for it."""
    env = cf.node_env(LIXIA)
    store = {
        "kind": "cassandra",
        "contact_points": [env["CASSANDRA_CONTACT_POINTS"]],
        "keyspace": env["CASSANDRA_KEYSPACE"],
        "lease_seconds": 2,
    }
    pki = shared_pki()
    pki.secure(folder / "data", LIXIA)
    document = {
        "network": "cassandra-crash-test",
        "defaults": {"data_dir": str(folder / "data"), "feed": "grpc"},
        "security": {"pki": str(pki.folder.root)},
        "nodes": [
            {"code": LIXIA, "name": "历下区", "address": f"127.0.0.1:{port}", "store": store}
        ],
    }
    path = folder / "network.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


class Appenders:
    """Clients that submit and accept cases until the node stops answering,
    each keeping what the node acknowledged: case number -> last version."""

    def __init__(self, address: str) -> None:
        self.channel = client_channel(address)
        self.stub = ledger_pb2_grpc.LedgerServiceStub(self.channel)
        self.acknowledged: dict[str, int] = {}
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._append) for _ in range(_CLIENTS)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def count(self) -> int:
        with self._lock:
            return sum(self.acknowledged.values())

    def _acknowledge(self, number: str, version: int) -> None:
        with self._lock:
            self.acknowledged[number] = version

    def _append(self) -> None:
        try:
            while True:
                reply = self.stub.Submit(rq.submit(), timeout=_RPC_TIMEOUT).result
                self._acknowledge(reply.case_number, reply.version)
                accept = ledger_pb2.AcceptRequest(
                    meta=rq.meta(), case=reply.case_number, notice_no="历下受〔2026〕1号"
                )
                reply = self.stub.Accept(accept, timeout=_RPC_TIMEOUT).result
                self._acknowledge(reply.case_number, reply.version)
        except grpc.RpcError:
            return  # the node is gone: what was acknowledged so far is recorded

    def join(self) -> None:
        for thread in self._threads:
            thread.join(timeout=60)
        self.channel.close()


@dataclass
class Node:
    process: NodeProcess
    address: str


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    cf.empty_node(LIXIA)
    (port,) = free_ports(1)
    process = NodeProcess(cassandra_network(tmp_path, port), LIXIA, tmp_path / "node.log")
    yield Node(process, f"127.0.0.1:{port}")
    process.stop()


def trail(stub: ledger_pb2_grpc.LedgerServiceStub, number: str) -> list[ledger_pb2.CaseEvent]:
    request = ledger_pb2.ListCaseEventsRequest(case=number)
    return list(stub.ListCaseEvents(request, timeout=_RPC_TIMEOUT).events)


def log_and_streams() -> tuple[list[int], set[tuple[str, int]], set[tuple[str, int]]]:
    """The node's log ids, the (aggregate, version) pairs in its log and in its
    case streams, read from its tables without taking the writer lease."""
    env = {**cf.node_env(LIXIA), "PERSISTENCE_MODULE": cf.MODULE, "CASSANDRA_READ_ONLY": "yes"}
    with cf.opened(env) as factory:
        log = cf.application(factory).select_notifications(start=1, limit=1_000_000)
    rows = cf.session().rows(
        f"SELECT originator_id, originator_version FROM {env['CASSANDRA_KEYSPACE']}.stored_events"
    )
    return (
        [n.id for n in log],
        {(str(n.originator_id), n.originator_version) for n in log},
        {(str(r["originator_id"]), r["originator_version"]) for r in rows},
    )


def test_a_cassandra_node_killed_during_appends_serves_again_with_nothing_acknowledged_lost(
    node: Node,
) -> None:
    node.process.start()
    with client_channel(node.address) as channel:
        ledger_pb2_grpc.LedgerServiceStub(channel).PublishItem(rq.publish_item(), timeout=10)
    appenders = Appenders(node.address)
    appenders.start()
    wait_for(lambda: appenders.count() >= _BEFORE_KILL, "appends to be acknowledged", 60)
    node.process.kill()
    appenders.join()
    acknowledged = dict(appenders.acknowledged)

    node.process.start()  # from the same network file; waits out the dead writer's lease
    with client_channel(node.address) as channel:
        stub = ledger_pb2_grpc.LedgerServiceStub(channel)
        for number, version in acknowledged.items():
            events = trail(stub, number)
            assert len(events) >= version, f"case {number} lost acknowledged events"
            previous = GENESIS
            for expected, event in enumerate(events, start=1):
                assert (event.version, event.prev_hash) == (expected, previous)
                previous = event.hash
        after = stub.Submit(rq.submit(), timeout=_RPC_TIMEOUT).result
        assert [e.stage for e in trail(stub, after.case_number)] == ["Submitted"]

    ids, logged, streamed = log_and_streams()
    assert ids == list(range(1, len(ids) + 1))
    assert logged == streamed
