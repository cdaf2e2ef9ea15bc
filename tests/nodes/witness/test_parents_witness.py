"""Parents are witnesses, on real nodes over mutual TLS and over both feeds:
the receiver cosigns the source's checkpoints as it replicates, catches a
source that rewrote its history and signed it with its own key, refuses and
reports it, and pins what it witnessed in its own checkpoints."""

from __future__ import annotations

import base64
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest
import structlog
from grpc_health.v1 import health_pb2

from caseledger.ledger.audit.checkpoint import (
    Checkpoint,
    open_note,
    origin_of,
    parse_verifier_key,
)
from caseledger.ledger.audit.cosignature import verify_cosignature
from caseledger.nodes.service.witnessing import WITNESS_HEALTH
from caseledger.v1 import audit_pb2, audit_pb2_grpc
from tests.nodes import tamper
from tests.nodes.replication import feeds
from tests.nodes.replication.feeds import COUNTY, TOWNSHIP, drive_cases, wait_for
from tests.nodes.replication.poison import health, sample_sum, steps
from tests.nodes.witness.harness import (
    WitnessedGrpc,
    WitnessedKafka,
    forks,
    lie,
    witness_key,
    witnessed,
    witnessed_up_to_head,
    witnessing,
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


@pytest.fixture
def logs() -> Iterator[list[MutableMapping[str, Any]]]:
    with structlog.testing.capture_logs() as captured:
        yield captured


def source_key(harness: Harness) -> tuple[str, bytes]:
    with client_channel(harness.source.address) as channel:
        reply = audit_pb2_grpc.AuditServiceStub(channel).GetCheckpoint(
            audit_pb2.GetCheckpointRequest(), timeout=10
        )
    return parse_verifier_key(reply.verifier_key)


def test_the_parent_cosigns_the_childs_checkpoints_as_it_replicates(harness: Harness) -> None:
    number, _ = drive_cases(harness.source, 2)
    wait_for(lambda: witnessed_up_to_head(harness.receiver, harness.source), "the cosignature")
    (record,) = witnessed(harness.receiver)
    assert record.node == TOWNSHIP
    name, public = source_key(harness)
    checkpoint = Checkpoint.parse(open_note(record.note, name, public))
    assert (checkpoint.size, checkpoint.root) == (record.size, record.root_hash)
    witness_name, _, encoded = witness_key(harness.receiver).split("+", 2)
    assert witness_name == origin_of(COUNTY)
    cosignature = verify_cosignature(record.note, witness_name, _raw(encoded))
    assert cosignature.witness == origin_of(COUNTY)

    steps(harness.source, number, 2)  # the next checkpoint extends the witnessed one
    wait_for(lambda: witnessed_up_to_head(harness.receiver, harness.source), "the next one")
    assert witnessed(harness.receiver)[0].size == checkpoint.size + 2
    assert forks(harness.receiver) == []
    assert health(harness.receiver, WITNESS_HEALTH) == health_pb2.HealthCheckResponse.SERVING


def test_a_child_that_rewrote_its_history_and_signed_it_is_caught_refused_and_reported(
    harness: Harness, logs: list[MutableMapping[str, Any]]
) -> None:
    number, _ = drive_cases(harness.source, 2)
    steps(harness.source, number, 2)
    wait_for(lambda: witnessed_up_to_head(harness.receiver, harness.source), "the cosignature")
    (honest,) = witnessed(harness.receiver)

    lie(harness, number)
    wait_for(lambda: bool(forks(harness.receiver)), "the parent to find the fork", timeout=60)

    (fork,) = forks(harness.receiver)
    assert fork.node == TOWNSHIP
    name, public = source_key(harness)
    # Both sides are the child's own signed notes: evidence anyone can check.
    assert fork.accepted_note == honest.note
    lied = Checkpoint.parse(open_note(fork.conflicting_note, name, public))
    assert lied.size > honest.size
    assert "does not match" in fork.detail
    # Refused: the witnessed checkpoint is still the honest one.
    (kept,) = witnessed(harness.receiver)
    assert kept.note == honest.note
    # Reported: a log line at error level, a metric and the health service.
    assert any(e["event"] == "checkpoint fork" and e["log_level"] == "error" for e in logs)
    forks_counted = sample_sum(harness.receiver, "caseledger_checkpoint_forks", source=TOWNSHIP)
    assert forks_counted == 1
    assert health(harness.receiver, WITNESS_HEALTH) == health_pb2.HealthCheckResponse.NOT_SERVING


def test_the_evidence_and_the_alert_outlive_a_restart_of_the_parent(
    harness: Harness, logs: list[MutableMapping[str, Any]]
) -> None:
    number, _ = drive_cases(harness.source, 2)
    steps(harness.source, number, 2)
    wait_for(lambda: witnessed_up_to_head(harness.receiver, harness.source), "the cosignature")
    lie(harness, number)
    wait_for(lambda: bool(forks(harness.receiver)), "the parent to find the fork", timeout=60)
    (fork,) = forks(harness.receiver)
    (honest,) = witnessed(harness.receiver)

    harness.stop_receiver()
    harness.start_receiver()
    assert forks(harness.receiver) == [fork]
    assert witnessed(harness.receiver) == [honest]
    assert health(harness.receiver, WITNESS_HEALTH) == health_pb2.HealthCheckResponse.NOT_SERVING
    forks_counted = sample_sum(harness.receiver, "caseledger_checkpoint_forks", source=TOWNSHIP)
    assert forks_counted == 1


@pytest.mark.cassandra
@pytest.mark.usefixtures("cassandra_keyspace")
def test_a_child_and_a_parent_on_cassandra_witness_as_on_sqlite(tmp_path: Path) -> None:
    """A Cassandra store's tree follows its log: a checkpoint the stream
    could not carry yet comes on its own, and is cosigned all the same."""
    family = WitnessedGrpc(tmp_path, "cassandra")
    try:
        number, _ = drive_cases(family.source, 2)
        steps(family.source, number, 3)
        wait_for(lambda: witnessed_up_to_head(family.receiver, family.source), "the cosignature")
        assert forks(family.receiver) == []
    finally:
        family.close()


@pytest.mark.parametrize("feed", ["grpc", pytest.param("kafka", marks=pytest.mark.kafka)])
def test_a_checkpoint_that_could_not_go_with_its_events_follows_them_on_its_own(
    feed: str, tmp_path: Path
) -> None:
    """The source sends its events before it can sign for them (here: before
    its checkpoints are attached; on Cassandra: before its tree caught up);
    the checkpoint it owes comes alone once it can, with no new event."""
    late: Harness
    if feed == "kafka":
        late = WitnessedKafka(tmp_path, feeds.kafka_address(), "sqlite", source_attached=False)
    else:
        late = WitnessedGrpc(tmp_path, "sqlite", source_attached=False)
    try:
        drive_cases(late.source, 1)
        wait_for(late.caught_up, "the receiver to take the events")
        assert witnessed(late.receiver) == []
        witnessing(late.source)
        wait_for(lambda: witnessed_up_to_head(late.receiver, late.source), "the late checkpoint")
    finally:
        late.close()


def _raw(encoded: str) -> bytes:
    raw = base64.b64decode(encoded)
    assert raw[:1] == b"\x04"
    return raw[1:]


def test_a_hole_in_what_the_parent_received_stalls_the_witness_visibly(tmp_path: Path) -> None:
    """An event deleted from the child's store before the parent pulled it: the
    parent cosigns nothing beyond the hole (it cannot check it), takes it for
    no fork, and shows how many events it waits for."""
    family = WitnessedGrpc(tmp_path, "sqlite")
    try:
        (number,) = drive_cases(family.source, 1)  # versions 1..2
        wait_for(lambda: witnessed_up_to_head(family.receiver, family.source), "the cosignature")
        (before,) = witnessed(family.receiver)
        family.stop_receiver()
        steps(family.source, number, 3)  # versions 3..5
        case_id = family.source.ledger.resolve(number)
        family.stop_source()
        tamper.delete_event(family.source.config.event_db, case_id, 4)
        family.start_source()
        family.start_receiver()

        def waiting() -> float:
            return sample_sum(family.receiver, "caseledger_witness_waiting_events", source=TOWNSHIP)

        wait_for(lambda: waiting() == 2, "the witness to show what it waits for")
        assert witnessed(family.receiver) == [before]
        assert forks(family.receiver) == []
    finally:
        family.close()
