"""The AuditService of a real node: signed checkpoints and proofs that verify
against them, on the stores that keep a Merkle log (SQLite, memory)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import structlog

from caseledger.ledger.audit import merkle
from caseledger.ledger.audit.checkpoint import Checkpoint, open_note, parse_verifier_key
from caseledger.ledger.audit.identity import public_file
from caseledger.nodes.service.server import RunningNode, start
from caseledger.v1 import audit_pb2, audit_pb2_grpc, ledger_pb2, ledger_pb2_grpc
from tests.nodes import requests as rq
from tests.nodes.stores import fresh_nodes, node_config
from tests.pki import client_channel
from tests.samples import LIXIA


@pytest.fixture(params=["sqlite", "memory", pytest.param("cassandra", marks=pytest.mark.cassandra)])
def node(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunningNode]:
    kind: str = request.param
    if kind == "cassandra":
        request.getfixturevalue("cassandra_keyspace")
    fresh_nodes(kind, LIXIA)
    with structlog.testing.capture_logs():
        running = start(node_config(LIXIA, tmp_path, kind, allow_client_time=True))
        yield running
        running.stop(grace=0)


@pytest.fixture
def audit(node: RunningNode) -> Iterator[audit_pb2_grpc.AuditServiceStub]:
    with client_channel(node.address) as channel:
        yield audit_pb2_grpc.AuditServiceStub(channel)


def cases(node: RunningNode, count: int) -> list[str]:
    with client_channel(node.address) as channel:
        stub = ledger_pb2_grpc.LedgerServiceStub(channel)
        stub.PublishItem(ledger_pb2.PublishItemRequest(terms=rq.item_terms(), meta=rq.publisher()))
        return [stub.Submit(rq.submit()).result.case_number for _ in range(count)]


def verified(node: RunningNode, response: audit_pb2.GetCheckpointResponse) -> Checkpoint:
    name, public = parse_verifier_key(public_file(node.config.data_dir, LIXIA).read_text())
    assert (
        response.verifier_key.strip()
        == public_file(node.config.data_dir, LIXIA).read_text().strip()
    )
    return Checkpoint.parse(open_note(response.note, name, public))


def test_a_fresh_checkpoint_is_signed_by_the_node_key_over_its_whole_log(
    node: RunningNode, audit: audit_pb2_grpc.AuditServiceStub
) -> None:
    cases(node, 3)
    response = audit.GetCheckpoint(audit_pb2.GetCheckpointRequest(fresh=True))
    checkpoint = verified(node, response)
    assert checkpoint.origin == "caseledger.example/370000000000/370102000000"
    assert checkpoint.size == node.ledger.recorder.max_notification_id()
    assert (response.size, response.root_hash) == (checkpoint.size, checkpoint.root)


def test_every_event_has_an_inclusion_proof_in_the_checkpoint(
    node: RunningNode, audit: audit_pb2_grpc.AuditServiceStub
) -> None:
    number = cases(node, 2)[0]
    checkpoint = verified(node, audit.GetCheckpoint(audit_pb2.GetCheckpointRequest(fresh=True)))
    for position in range(1, checkpoint.size + 1):
        proof = audit.GetInclusionProof(
            audit_pb2.GetInclusionProofRequest(position=position, tree_size=checkpoint.size)
        )
        assert merkle.verify_inclusion(
            proof.leaf_hash, position - 1, checkpoint.size, list(proof.path), checkpoint.root
        )
    trail = node.ledger.trail(number)
    by_case = audit.GetInclusionProof(
        audit_pb2.GetInclusionProofRequest(
            event=audit_pb2.CaseEventRef(case=number, version=1), tree_size=checkpoint.size
        )
    )
    leaf = merkle.leaf_hash(bytes.fromhex(trail[0].hash))
    assert by_case.leaf_hash == leaf
    assert merkle.verify_inclusion(
        leaf, by_case.leaf_index, checkpoint.size, list(by_case.path), checkpoint.root
    )


def test_an_older_checkpoint_is_consistent_with_a_newer_one(
    node: RunningNode, audit: audit_pb2_grpc.AuditServiceStub
) -> None:
    cases(node, 2)
    old = verified(node, audit.GetCheckpoint(audit_pb2.GetCheckpointRequest(fresh=True)))
    cases(node, 3)
    new = verified(node, audit.GetCheckpoint(audit_pb2.GetCheckpointRequest(fresh=True)))
    at_old = verified(node, audit.GetCheckpoint(audit_pb2.GetCheckpointRequest(size=old.size)))
    assert at_old == old
    proof = audit.GetConsistencyProof(
        audit_pb2.GetConsistencyProofRequest(first=old.size, second=new.size)
    )
    assert merkle.verify_consistency(old.size, new.size, old.root, new.root, list(proof.path))


def test_the_node_signs_a_new_checkpoint_when_its_log_grew(
    node: RunningNode, audit: audit_pb2_grpc.AuditServiceStub
) -> None:
    first = verified(node, audit.GetCheckpoint(audit_pb2.GetCheckpointRequest()))
    cases(node, 1)
    deadline = time.monotonic() + 10
    latest = first
    while latest.size == first.size and time.monotonic() < deadline:
        time.sleep(0.2)
        latest = verified(node, audit.GetCheckpoint(audit_pb2.GetCheckpointRequest()))
    assert latest.size > first.size


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        (audit_pb2.GetCheckpointRequest(size=10_000), grpc.StatusCode.OUT_OF_RANGE),
        (audit_pb2.GetCheckpointRequest(size=-1), grpc.StatusCode.INVALID_ARGUMENT),
        (audit_pb2.GetInclusionProofRequest(position=0), grpc.StatusCode.INVALID_ARGUMENT),
        (audit_pb2.GetInclusionProofRequest(), grpc.StatusCode.INVALID_ARGUMENT),
        (
            audit_pb2.GetInclusionProofRequest(position=3, tree_size=2),
            grpc.StatusCode.OUT_OF_RANGE,
        ),
        (
            audit_pb2.GetInclusionProofRequest(
                event=audit_pb2.CaseEventRef(case="11111111-1111-1111-1111-111111111111", version=1)
            ),
            grpc.StatusCode.NOT_FOUND,
        ),
        (
            audit_pb2.GetConsistencyProofRequest(first=3, second=2),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (
            audit_pb2.GetConsistencyProofRequest(first=1, second=10_000),
            grpc.StatusCode.OUT_OF_RANGE,
        ),
    ],
)
def test_requests_beyond_the_tree_or_malformed_are_refused(
    node: RunningNode,
    audit: audit_pb2_grpc.AuditServiceStub,
    request_: object,
    code: grpc.StatusCode,
) -> None:
    cases(node, 1)
    method: Any = {
        audit_pb2.GetCheckpointRequest: audit.GetCheckpoint,
        audit_pb2.GetInclusionProofRequest: audit.GetInclusionProof,
        audit_pb2.GetConsistencyProofRequest: audit.GetConsistencyProof,
    }[type(request_)]
    with pytest.raises(grpc.RpcError) as raised:
        method(request_)
    assert raised.value.code() is code
