"""The replication harnesses with every node witnessing its sources, and a
node that lies: its history rewritten, its tree rebuilt over the rewrite and
a new checkpoint signed with its own key."""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass, replace

from caseledger.nodes.config import NodeConfig
from caseledger.nodes.service.server import RunningNode
from caseledger.nodes.service.witnessing import attach_witness, detach_witness
from caseledger.v1 import audit_pb2, audit_pb2_grpc
from tests.nodes import tamper
from tests.nodes.replication.feeds import GrpcHarness, KafkaHarness, source_head
from tests.nodes.replication.poison import MAPPER, steps
from tests.pki import client_channel


def witnessing(node: RunningNode) -> RunningNode:
    """`node`, sending its checkpoints with its events and witnessing its sources'
    (a node started with `witness` on, as every node is by default, already does)."""
    if node.config.witness:
        return node
    attach_witness(
        node.config,
        node.ledger,
        node.checkpoints,
        intake=node.intake,
        health=node.health,
        registry=node.metrics.registry,
        publisher=node.publisher,
    )
    return node


def stopped(node: RunningNode) -> None:
    node.stop(grace=0)
    detach_witness(node.ledger)


@dataclass
class WitnessedGrpc(GrpcHarness):
    # False: the source starts without sending its checkpoints (a test attaches later).
    source_attached: bool = True

    def source_config(self) -> NodeConfig:
        return replace(super().source_config(), witness=self.source_attached)

    def stop_source(self) -> None:
        stopped(self.source)

    def start_receiver(self, via: str | None = None) -> None:
        super().start_receiver(via)
        witnessing(self.receiver)

    def stop_receiver(self) -> None:
        stopped(self.receiver)


@dataclass
class WitnessedKafka(KafkaHarness):
    # False: the source starts without sending its checkpoints (a test attaches later).
    source_attached: bool = True

    def source_config(self) -> NodeConfig:
        return replace(super().source_config(), witness=self.source_attached)

    def stop_source(self) -> None:
        stopped(self.source)

    def start_receiver(self) -> None:
        super().start_receiver()
        witnessing(self.receiver)

    def stop_receiver(self) -> None:
        stopped(self.receiver)


def witnessed(node: RunningNode, of: str = "") -> list[audit_pb2.WitnessedCheckpoint]:
    with client_channel(node.address) as channel:
        reply = audit_pb2_grpc.AuditServiceStub(channel).GetWitnessed(
            audit_pb2.GetWitnessedRequest(node=of), timeout=10
        )
    return list(reply.checkpoints)


def witness_key(node: RunningNode) -> str:
    with client_channel(node.address) as channel:
        reply = audit_pb2_grpc.AuditServiceStub(channel).GetWitnessed(
            audit_pb2.GetWitnessedRequest(), timeout=10
        )
    return reply.witness_key


def forks(node: RunningNode) -> list[audit_pb2.Fork]:
    with client_channel(node.address) as channel:
        reply = audit_pb2_grpc.AuditServiceStub(channel).ListForks(
            audit_pb2.ListForksRequest(), timeout=10
        )
    return list(reply.forks)


def witnessed_up_to_head(receiver: RunningNode, source: RunningNode) -> bool:
    """Whether `receiver` witnessed `source`'s checkpoint of its whole log."""
    found = witnessed(receiver, source.config.code)
    return bool(found) and found[0].size == source_head(source)


def lie(harness: GrpcHarness | KafkaHarness, number: str) -> None:
    """Rewrite version 2 of case `number` at the source (every later hash
    recomputed), drop its tree so that it rebuilds it over the rewrite and
    signs that, restart it and append one more event to the case."""
    case_id = harness.source.ledger.resolve(number)
    harness.stop_source()
    database = harness.source.config.event_db
    tamper.rewrite_with_hashes(database, MAPPER, case_id, 2, lambda p: {**p, "notice_no": "受2号"})
    with contextlib.closing(sqlite3.connect(database)) as db, db:
        db.execute("DROP TABLE merkle_subtrees")
    harness.start_source()
    steps(harness.source, number, 1)
