"""What the quarantine suites drive: a source whose history is changed behind
its back (on its SQLite file), and what the receiver then holds and says."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from grpc_health.v1 import health_pb2, health_pb2_grpc

from caseledger.ledger.trail.quarantine import Entry
from caseledger.ledger.trail.received import ReceivedEvents
from caseledger.nodes.service.server import QUARANTINE_HEALTH, RunningNode
from caseledger.v1 import ledger_pb2
from tests.cli.test_cli_end_to_end import Operator
from tests.nodes import requests as rq
from tests.nodes import tamper
from tests.nodes.replication.feeds import FeedHarness, drive_cases, ledger_stub, wait_for
from tests.pki import client_channel

MAPPER = ReceivedEvents(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}).mapper
"""Any application's mapper encodes and decodes as the nodes' do."""


def steps(node: RunningNode, number: str, count: int) -> None:
    """`count` more events of the case at `node` (审查 steps)."""
    channel, stub = ledger_stub(node)
    with channel:
        for _ in range(count):
            stub.RecordStep(rq.record_step(number))


def quarantined(node: RunningNode) -> list[Entry]:
    received = node.ledger.received
    assert received is not None
    assert received.quarantine is not None
    return received.quarantine.entries()


def trail_versions(node: RunningNode, number: str) -> int:
    return len(node.ledger.trail(number))


def health(node: RunningNode, service: str = QUARANTINE_HEALTH) -> int:
    with client_channel(node.address) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=service), timeout=10
        )
    return int(reply.status)


def sample_sum(node: RunningNode, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include `labels` (any source)."""
    total = 0.0
    for metric in node.metrics.registry.collect():
        for sample in metric.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                total += sample.value
    return total


def cli(node: RunningNode) -> Operator:
    return Operator(node.address)


@dataclass(frozen=True)
class Replaced:
    """A case whose event 3 was deleted at its owner and appended again, differently."""

    number: str
    case_id: UUID
    held_hash: str
    """The hash of the first event 3, which the receiver holds."""
    new_hash: str
    """The hash of the event 3 appended in its place."""
    later: str
    """A case the source appended afterwards."""


def replace_event_three(harness: FeedHarness) -> Replaced:
    """Case A reaches version 3 and the receiver; A's event 3 is then deleted
    from the source's store and, after a restart, a different event 3 appended
    (another case's events follow A's, so the deleted row is not the log's
    tail); then a new case is appended."""
    (number,) = drive_cases(harness.source, 1)
    steps(harness.source, number, 1)
    drive_cases(harness.source, 1, publish=False)
    wait_for(harness.caught_up, "the receiver to catch up")
    case_id = harness.source.ledger.resolve(number)
    old = tamper.stored(harness.source.config.event_db, case_id)[2]
    harness.stop_source()
    tamper.delete_event(harness.source.config.event_db, case_id, 3)
    harness.start_source()
    assert trail_versions(harness.source, number) == 2
    steps(harness.source, number, 1)
    new = tamper.stored(harness.source.config.event_db, case_id)[2]
    (later,) = drive_cases(harness.source, 1, publish=False)
    wait_for(harness.caught_up, "the receiver to take the events after the replaced one")
    return Replaced(
        number, case_id, tamper.hash_of(MAPPER, old), tamper.hash_of(MAPPER, new), later
    )


def list_events(node: RunningNode, number: str) -> ledger_pb2.ListCaseEventsResponse:
    channel, stub = ledger_stub(node)
    with channel:
        return stub.ListCaseEvents(ledger_pb2.ListCaseEventsRequest(case=number))
