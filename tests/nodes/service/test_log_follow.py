"""A following log stream is woken by the node's commits: its store polls for
other processes' commits once an hour here, so a record that arrives within
the call's deadline came from the subscription's wake-up, not from a timer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from caseledger.nodes.service.server import RunningNode, start
from caseledger.v1 import log_pb2, log_pb2_grpc
from tests.nodes.replication.feeds import COUNTY, TOWNSHIP, drive_cases, next_with_records
from tests.nodes.replication.poison import steps
from tests.nodes.stores import fresh_nodes, node_config
from tests.pki import node_channel


@pytest.fixture
def township(tmp_path: Path) -> Iterator[RunningNode]:
    fresh_nodes("sqlite", TOWNSHIP)
    config = node_config(
        TOWNSHIP,
        tmp_path / "t",
        "sqlite",
        allow_client_time=True,
        extra_env={"SQLITE_POLL_INTERVAL": "3600"},
    )
    node = start(config)
    yield node
    node.stop()


def test_a_following_stream_gets_each_new_event_as_it_commits(township: RunningNode) -> None:
    (number,) = drive_cases(township, 1)
    head = township.ledger.held.head()
    with node_channel(township.address, COUNTY) as channel:
        # A streaming call is both an iterator and a call to cancel; typed as neither.
        stream: Any = log_pb2_grpc.LogServiceStub(channel).StreamLog(
            log_pb2.StreamLogRequest(after=head, follow=True), timeout=30
        )
        for expected in (head + 1, head + 2):
            steps(township, number, 1)
            batch = next_with_records(stream)
            assert [r.position for r in batch.records] == [expected]
        stream.cancel()


def test_a_following_stream_says_once_that_it_has_caught_up(township: RunningNode) -> None:
    drive_cases(township, 1)
    head = township.ledger.held.head()
    with node_channel(township.address, COUNTY) as channel:
        stream: Any = log_pb2_grpc.LogServiceStub(channel).StreamLog(
            log_pb2.StreamLogRequest(after=0, follow=True), timeout=30
        )
        batches = [next(stream), next(stream)]
        stream.cancel()
    records, marker = batches
    assert [r.position for r in records.records] == list(range(1, head + 1))
    assert list(marker.records) == []
    assert marker.head == head


def test_a_stream_that_does_not_follow_ends_at_the_head(township: RunningNode) -> None:
    drive_cases(township, 2)
    head = township.ledger.held.head()
    with node_channel(township.address, COUNTY) as channel:
        batches = list(
            log_pb2_grpc.LogServiceStub(channel).StreamLog(
                log_pb2.StreamLogRequest(after=0), timeout=30
            )
        )
    positions = [r.position for b in batches for r in b.records]
    assert positions == list(range(1, head + 1))
