"""A node rotates its identity key, over both feeds: the rotation is an event
of its own log signed by the old key, its checkpoints are signed with the new
one from then on and carry the rotation, its parent keeps cosigning them
(it follows the chain from the key the child's certificate binds), and an
auditor holding only the first key verifies the child's log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from caseledger.ledger.audit.checkpoint import Checkpoint, open_note, parse_verifier_key
from caseledger.ledger.audit.identity import public_file, rotations_file, stage_next
from caseledger.ledger.audit.rotation import ROTATION_LINE, rotation_lines
from caseledger.nodes.service.checkpoints import BeyondTree
from caseledger.v1 import audit_pb2, audit_pb2_grpc, log_pb2, log_pb2_grpc
from tests.cli.test_cli_end_to_end import Operator
from tests.nodes.replication import feeds
from tests.nodes.replication.feeds import TOWNSHIP, drive_cases, source_head, wait_for
from tests.nodes.replication.poison import steps
from tests.nodes.witness.harness import (
    WitnessedGrpc,
    WitnessedKafka,
    forks,
    witnessed,
    witnessed_up_to_head,
)
from tests.pki import client_channel

Harness = WitnessedGrpc | WitnessedKafka


@pytest.fixture(params=["grpc", pytest.param("kafka", marks=pytest.mark.kafka)])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    built: Harness
    if request.param == "kafka":
        built = WitnessedKafka(tmp_path, feeds.kafka_address(), "sqlite")
    else:
        built = WitnessedGrpc(tmp_path, "sqlite")
    yield built
    built.close()


def verifier_key_of(harness: Harness) -> str:
    with client_channel(harness.source.address) as channel:
        reply = audit_pb2_grpc.AuditServiceStub(channel).GetCheckpoint(
            audit_pb2.GetCheckpointRequest(fresh=True), timeout=10
        )
    return reply.verifier_key


def logged_rotations(harness: Harness) -> list[log_pb2.LogRecord]:
    with client_channel(harness.source.address) as channel:
        batches = log_pb2_grpc.LogServiceStub(channel).StreamLog(
            log_pb2.StreamLogRequest(after=0, limit=source_head(harness.source)), timeout=10
        )
        records = [record for batch in batches for record in batch.records]
    return [r for r in records if r.topic == "caseledger.audit.KeyRotated"]


def test_a_rotated_key_is_logged_witnessed_and_followed_from_the_first_key(
    harness: Harness, tmp_path: Path
) -> None:
    data = harness.source.config.data_dir
    number, _ = drive_cases(harness.source, 2)
    wait_for(lambda: witnessed_up_to_head(harness.receiver, harness.source), "the cosignature")
    first_key = tmp_path / "first.pub"
    first_key.write_text(public_file(data, TOWNSHIP).read_text(encoding="utf-8"))
    first = verifier_key_of(harness)

    new = stage_next(data, TOWNSHIP)
    wait_for(lambda: verifier_key_of(harness) == new, "the node to rotate its key", timeout=20)
    assert public_file(data, TOWNSHIP).read_text(encoding="utf-8").strip() == new

    # The rotation is an event of the node's own log, signed by the old key.
    (record,) = logged_rotations(harness)
    state = json.loads(record.state)
    assert (state["old_key"], state["new_key"]) == (first, new)
    position = json.loads(rotations_file(data, TOWNSHIP).read_text().splitlines()[0])["position"]
    assert record.position == position

    # The parent cosigns the checkpoints the new key signs, the rotation in them.
    steps(harness.source, number, 2)
    wait_for(lambda: witnessed_up_to_head(harness.receiver, harness.source), "the next one")
    (kept,) = witnessed(harness.receiver)
    name, public = parse_verifier_key(new)
    checkpoint = Checkpoint.parse(open_note(kept.note, name, public))
    assert [p for p, _ in rotation_lines(checkpoint.extensions)] == [position]
    assert forks(harness.receiver) == []

    # An auditor with the first key only follows the chain.
    run = Operator(harness.source.address)
    result = run("audit", "verify", harness.source.address, "--key", str(first_key))
    assert result.exit_code == 0, result.output
    # No checkpoint is signed below the rotation: the new key never signs the old log.
    checkpoints = harness.source.checkpoints
    assert checkpoints is not None
    with pytest.raises(BeyondTree):
        checkpoints.at(position - 1)
    assert checkpoints.at(position).note.count(ROTATION_LINE) == 1


def test_a_restarted_node_keeps_its_rotated_key_and_its_rotations(harness: Harness) -> None:
    data = harness.source.config.data_dir
    (number,) = drive_cases(harness.source, 1)
    new = stage_next(data, TOWNSHIP)
    wait_for(lambda: verifier_key_of(harness) == new, "the node to rotate its key", timeout=20)
    harness.stop_source()
    harness.start_source()
    assert verifier_key_of(harness) == new
    assert len(logged_rotations(harness)) == 1
    steps(harness.source, number, 1)
    wait_for(lambda: witnessed_up_to_head(harness.receiver, harness.source), "the cosignature")
    assert forks(harness.receiver) == []
