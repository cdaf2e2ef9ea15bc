"""The log stream carries the node's checkpoint of what each batch ends at,
signed by the key its certificate binds; the certificate goes once per
stream; a filtered stream (reference data, for descendants) carries none."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from caseledger.ledger.audit.checkpoint import Checkpoint, open_note, origin_of, public_bytes
from caseledger.ledger.catalogue import REFERENCE_DATA_TOPICS
from caseledger.nodes.service.server import RunningNode, start
from caseledger.nodes.trust.certificates import identity_key_of
from caseledger.v1 import log_pb2, log_pb2_grpc
from tests.nodes.replication.feeds import COUNTY, TOWNSHIP, drive_cases, next_with_records
from tests.nodes.replication.poison import steps
from tests.nodes.stores import fresh_nodes, node_config
from tests.nodes.witness.harness import stopped, witnessing
from tests.pki import node_channel


@pytest.fixture
def township(tmp_path: Path) -> Iterator[RunningNode]:
    fresh_nodes("sqlite", TOWNSHIP)
    node = witnessing(
        start(node_config(TOWNSHIP, tmp_path / "t", "sqlite", allow_client_time=True))
    )
    yield node
    stopped(node)


def test_each_batch_carries_the_checkpoint_of_its_last_position_and_the_certificate_once(
    township: RunningNode,
) -> None:
    (number,) = drive_cases(township, 1)
    with node_channel(township.address, COUNTY) as channel:
        # A streaming call is both an iterator and a call to cancel; typed as neither.
        stream: Any = log_pb2_grpc.LogServiceStub(channel).StreamLog(
            log_pb2.StreamLogRequest(after=0, follow=True), timeout=30
        )
        first: log_pb2.LogBatch = next(stream)
        steps(township, number, 1)
        second = next_with_records(stream)
        stream.cancel()
    certificate = x509.load_pem_x509_certificate(first.checkpoint.certificate)
    public = public_bytes(identity_key_of(certificate))
    for batch in (first, second):
        checkpoint = Checkpoint.parse(open_note(batch.checkpoint.note, origin_of(TOWNSHIP), public))
        assert checkpoint.size == batch.records[-1].position
    assert second.checkpoint.certificate == b""


def test_a_filtered_stream_carries_no_checkpoint(township: RunningNode) -> None:
    drive_cases(township, 1)
    with node_channel(township.address, COUNTY) as channel:
        batches = list(
            log_pb2_grpc.LogServiceStub(channel).StreamLog(
                log_pb2.StreamLogRequest(after=0, topics=list(REFERENCE_DATA_TOPICS)), timeout=30
            )
        )
    assert batches
    assert all(not batch.HasField("checkpoint") for batch in batches)
