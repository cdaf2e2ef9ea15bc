"""Node processes killed with SIGKILL mid-stream, on every feed and store.

Two node processes run from a network file: the township 解放路街道 (the
source) and its county 历下区 (the receiver, which follows the township's
log over the feed of the file: gRPC log streams or Kafka topics). Clients
append to the source without pause. The receiver is made to lag first: it
is frozen (SIGSTOP) while the source acknowledges a backlog, so batches are
in flight towards it. Then one of the two is killed outright (SIGKILL) and
started again from the same file, while the appends go on.

When the appends stop and the receiver has caught up, it holds every event
of the source's log once (each acknowledged one among them), each case's
events were stored in version order, and every trail verifies there: at
rest, and as the receiver serves it (hashes recomputed by the CLI's own
verifier).
"""

from __future__ import annotations

import threading
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import grpc
import pytest
from eventsourcing.application import Application
from eventsourcing.persistence import Notification

from caseledger.cli.audit.trail import verify_trail
from caseledger.ledger.case.events import CaseEvent
from caseledger.ledger.trail.canonical import GENESIS, digest
from caseledger.ledger.trail.received import ReceivedEvents
from caseledger.nodes.network.file import load_network
from caseledger.nodes.replication.kafka_client import BrokerSettings
from caseledger.nodes.replication.kafka_feed import TopicLayout, create_network_topics
from caseledger.v1 import ledger_pb2, ledger_pb2_grpc
from tests import cassandra_fixtures as cf
from tests.nodes import requests as rq
from tests.nodes.processes import NodeProcess, free_ports, write_network
from tests.nodes.replication.feeds import COUNTY, TOWNSHIP, kafka_address
from tests.nodes.stores import fresh_nodes
from tests.pki import client_channel
from tests.timing import scaled, wait_for

_CLIENTS = 3
_STEP = 20  # acknowledged appends between two moves of a test
_RPC_TIMEOUT = 10.0


class Appenders:
    """Clients that submit and accept cases at one node until stopped or until
    the node stops answering, each keeping what the node acknowledged: case
    number -> last version."""

    def __init__(self, address: str) -> None:
        self._channel = client_channel(address)
        self._stub = ledger_pb2_grpc.LedgerServiceStub(self._channel)
        self.acknowledged: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads = [threading.Thread(target=self._append) for _ in range(_CLIENTS)]
        for thread in self._threads:
            thread.start()

    def count(self) -> int:
        with self._lock:
            return sum(self.acknowledged.values())

    def wait_for_more(self, appends: int, what: str) -> None:
        """Wait until `appends` more appends are acknowledged."""
        target = self.count() + appends
        wait_for(lambda: self.count() >= target, what)

    def _acknowledge(self, number: str, version: int) -> None:
        with self._lock:
            self.acknowledged[number] = version

    def _append(self) -> None:
        try:
            while not self._stopping.is_set():
                reply = self._stub.Submit(rq.submit(), timeout=_RPC_TIMEOUT).result
                self._acknowledge(reply.case_number, reply.version)
                accept = ledger_pb2.AcceptRequest(
                    meta=rq.meta(), case=reply.case_number, notice_no="受1号"
                )
                reply = self._stub.Accept(accept, timeout=_RPC_TIMEOUT).result
                self._acknowledge(reply.case_number, reply.version)
        except grpc.RpcError:
            return  # the node is gone: what it acknowledged so far is recorded

    def stop(self) -> dict[str, int]:
        """Stop appending; what was acknowledged."""
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=scaled(60))
        self._channel.close()
        with self._lock:
            return dict(self.acknowledged)


def _reading(env: dict[str, str]) -> dict[str, str]:
    """A store's settings for reading it beside the node that writes it."""
    return {**env, "CASSANDRA_READ_ONLY": "yes"}


@dataclass
class Pair:
    """The source and the receiver, as processes, and their stores read from here."""

    folder: Path
    feed: str
    store_kind: str
    addresses: dict[str, str] = field(init=False)
    nodes: dict[str, NodeProcess] = field(init=False)
    _open: list[Application[Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        fresh_nodes(self.store_kind, TOWNSHIP, COUNTY)
        ports = free_ports(2)
        self.addresses = {TOWNSHIP: f"127.0.0.1:{ports[0]}", COUNTY: f"127.0.0.1:{ports[1]}"}
        kafka = None
        if self.feed == "kafka":
            broker, layout = kafka_address(), TopicLayout(f"t{uuid.uuid4().hex[:12]}")
            # As a network start does: every node's topics exist before any node runs.
            create_network_topics(BrokerSettings((broker,)), layout, [TOWNSHIP, COUNTY])
            kafka = {"bootstrap": broker, "topic_prefix": layout.prefix}
        stores = None
        if self.store_kind == "cassandra":
            stores = {
                code: {
                    "kind": "cassandra",
                    "contact_points": [cf.address()],
                    "keyspace": cf.node_env(code)["CASSANDRA_KEYSPACE"],
                    "lease_seconds": 2,
                }
                for code in self.addresses
            }
        path = write_network(
            self.folder,
            {TOWNSHIP: ("解放路街道", ports[0]), COUNTY: ("历下区", ports[1])},
            feed=self.feed,
            kafka=kafka,
            stores=stores,
        )
        self.network = load_network(path)
        self.nodes = {
            code: NodeProcess(path, code, self.folder / f"{code}.log") for code in self.addresses
        }

    @property
    def source(self) -> NodeProcess:
        return self.nodes[TOWNSHIP]

    @property
    def receiver(self) -> NodeProcess:
        return self.nodes[COUNTY]

    def stub(self, code: str) -> ledger_pb2_grpc.LedgerServiceStub:
        return ledger_pb2_grpc.LedgerServiceStub(client_channel(self.addresses[code]))

    def open_stores(self) -> None:
        """Open the source's log and the receiver's received events (once both ran)."""
        source = self.network.to_node_config(TOWNSHIP)
        receiver = self.network.to_node_config(COUNTY)
        self.log = Application[UUID](env=_reading(source.persistence_env()))
        self.received = ReceivedEvents(env=_reading(receiver.persistence_env(receiver.received_db)))
        self._open += [self.log, self.received]

    def authored(self) -> list[Notification]:
        return list(self.log.recorder.select_notifications(start=1, limit=1_000_000))

    def stored(self) -> list[Notification]:
        return list(self.received.recorder.select_notifications(start=1, limit=1_000_000))

    def caught_up(self) -> bool:
        head = self.log.recorder.max_notification_id() or 0
        if (self.received.recorder.max_notification_id() or 0) < head:
            return False
        return _events(self.stored()) >= _events(self.authored())

    def close(self) -> None:
        for node in self.nodes.values():
            node.kill()  # whatever the test did, no node outlives it
        for application in self._open:
            application.close()


def _events(log: list[Notification]) -> set[tuple[str, int]]:
    return {(str(n.originator_id), n.originator_version) for n in log}


@pytest.fixture(params=["grpc", pytest.param("kafka", marks=pytest.mark.kafka)])
def pair(request: pytest.FixtureRequest, tmp_path: Path, store_kind: str) -> Iterator[Pair]:
    built = Pair(tmp_path, request.param, store_kind)
    yield built
    built.close()


def start_appending(pair: Pair) -> Appenders:
    """Both nodes up, the item published, appends going on and reaching the receiver."""
    pair.source.start()
    pair.receiver.start()
    pair.stub(TOWNSHIP).PublishItem(rq.publish_item(), timeout=_RPC_TIMEOUT)
    pair.open_stores()
    appenders = Appenders(pair.addresses[TOWNSHIP])
    wait_for(lambda: len(pair.stored()) >= _STEP, "appends to reach the receiver")
    return appenders


def lag_behind(pair: Pair, appenders: Appenders) -> None:
    """Freeze the receiver until the source has acknowledged a backlog for it."""
    pair.receiver.freeze()
    appenders.wait_for_more(_STEP, "a backlog while the receiver is frozen")


def assert_every_event_stored_once_and_verified(pair: Pair, acknowledged: dict[str, int]) -> None:
    stored = pair.stored()
    events = [(str(n.originator_id), n.originator_version) for n in stored]
    assert len(events) == len(set(events)), "an event was stored twice"
    assert set(events) == _events(pair.authored())
    # Stored in version order, and each case's trail whole and verified at rest.
    trails: dict[str, list[CaseEvent]] = defaultdict(list)
    for notification in stored:
        event = pair.received.decode(notification)
        if isinstance(event, CaseEvent):
            trails[str(event.originator_id)].append(event)
    for case, trail in trails.items():
        assert [e.originator_version for e in trail] == list(range(1, len(trail) + 1)), case
        previous = GENESIS
        for event in trail:
            assert (event.prev_hash, digest(event.hashed_form())) == (previous, event.hash)
            previous = event.hash
    # Every acknowledged append is there, as the receiver serves it.
    served = pair.stub(COUNTY)
    for number, version in acknowledged.items():
        request = ledger_pb2.ListCaseEventsRequest(case=number)
        response = served.ListCaseEvents(request, timeout=_RPC_TIMEOUT)
        assert len(response.events) >= version, f"case {number} lost acknowledged events"
        report = verify_trail(response, number)
        assert report.verified, (number, report.first_break)


def test_a_receiver_killed_with_batches_in_flight_ends_with_every_event_once(
    pair: Pair,
) -> None:
    appenders = start_appending(pair)
    lag_behind(pair, appenders)
    pair.receiver.thaw()  # it takes up the backlog, and dies in it
    pair.receiver.kill()
    appenders.wait_for_more(_STEP, "appends while the receiver is down")
    pair.receiver.start()
    appenders.wait_for_more(_STEP, "appends while the receiver catches up")
    acknowledged = appenders.stop()
    wait_for(pair.caught_up, "the restarted receiver to catch up", timeout=60)
    assert_every_event_stored_once_and_verified(pair, acknowledged)


def test_a_source_killed_with_batches_in_flight_ends_with_every_event_once(
    pair: Pair,
) -> None:
    appenders = start_appending(pair)
    lag_behind(pair, appenders)
    pair.source.kill()  # mid-append, its stream or publisher mid-page
    pair.receiver.thaw()
    acknowledged = appenders.stop()
    pair.source.start()
    appenders = Appenders(pair.addresses[TOWNSHIP])
    appenders.wait_for_more(_STEP, "appends to the restarted source")
    acknowledged |= appenders.stop()
    wait_for(pair.caught_up, "the receiver to catch up with the restarted source", timeout=60)
    assert_every_event_stored_once_and_verified(pair, acknowledged)
