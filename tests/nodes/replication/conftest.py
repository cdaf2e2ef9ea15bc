"""The harnesses of the replication suites: a source and a receiver over one
feed adapter (`grpc`, or `kafka` on the real broker), on each store kind."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.nodes.replication import feeds
from tests.nodes.replication.feeds import FeedHarness, GrpcHarness, KafkaHarness


@pytest.fixture(params=["grpc", pytest.param("kafka", marks=pytest.mark.kafka)])
def harness(
    request: pytest.FixtureRequest, tmp_path: Path, store_kind: str
) -> Iterator[FeedHarness]:
    built: FeedHarness
    if request.param == "kafka":
        built = KafkaHarness(tmp_path, feeds.kafka_address(), store_kind)
    else:
        built = GrpcHarness(tmp_path, store_kind)
    yield built
    built.close()


@pytest.fixture
def grpc_harness(tmp_path: Path, store_kind: str) -> Iterator[GrpcHarness]:
    built = GrpcHarness(tmp_path, store_kind)
    yield built
    built.close()


@pytest.fixture
def kafka_harness(tmp_path: Path, store_kind: str) -> Iterator[KafkaHarness]:
    built = KafkaHarness(tmp_path, feeds.kafka_address(), store_kind)
    yield built
    built.close()
