"""The cluster every test here runs against, restored whatever a test did to it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from caseledger.nodes.replication.kafka_client import BrokerSettings, TopicSettings
from caseledger.nodes.replication.kafka_feed import TopicLayout, create_network_topics
from tests.clusters.kafka.members import Members, cluster_bootstrap
from tests.faults.network import COUNTY, TOWNSHIP, LinkedNetwork


@pytest.fixture
def members() -> Iterator[Members]:
    """The cluster's members; any a test killed or stopped are started again."""
    cluster = Members(cluster_bootstrap())
    assert cluster.all_running(), "a member of the Kafka cluster is down before the test"
    try:
        yield cluster
    finally:
        cluster.restore()


@pytest.fixture
def replicating(tmp_path: Path, members: Members) -> Iterator[LinkedNetwork]:
    """解放路街道 and 历下区 replicating over the cluster: topics of three
    replicas, two in sync, all created before the nodes start."""
    layout = TopicLayout(f"c{uuid.uuid4().hex[:12]}")
    bootstrap = tuple(members.bootstrap.split(","))
    create_network_topics(
        BrokerSettings(bootstrap),
        layout,
        [TOWNSHIP, COUNTY],
        TopicSettings(replication_factor=3, min_insync_replicas=2),
    )
    network = LinkedNetwork(
        tmp_path / "nodes",
        {TOWNSHIP: "解放路街道", COUNTY: "历下区"},
        feed="kafka",
        kafka={
            "bootstrap": list(bootstrap),
            "topic_prefix": layout.prefix,
            "replication_factor": 3,
            "min_insync_replicas": 2,
        },
    )
    try:
        yield network
    finally:
        network.close()
