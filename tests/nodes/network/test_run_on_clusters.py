"""`network up --replication-factor N`: a run's copy of the network file puts every
Kafka topic at N copies with a majority in sync before a record is confirmed."""

from __future__ import annotations

from pathlib import Path

import pytest

from caseledger.nodes.network.file import demo_network, load_network
from caseledger.nodes.network.run_copy import Overrides, write_network_copy

SHANDONG = "370000000000"
CLUSTER = "127.0.0.1:19092,127.0.0.2:19092,127.0.0.3:19092"


@pytest.mark.parametrize(("factor", "in_sync"), [(1, 1), (3, 2), (5, 3)])
def test_a_run_on_a_kafka_cluster_keeps_a_majority_of_its_copies_in_sync(
    tmp_path: Path, factor: int, in_sync: int
) -> None:
    overrides = Overrides(feed="kafka", kafka=CLUSTER, replication_factor=factor)
    copy = load_network(write_network_copy(demo_network(), overrides, tmp_path / "n.yaml"))
    assert copy.kafka is not None
    assert (copy.kafka.replication_factor, copy.kafka.in_sync) == (factor, in_sync)
    assert len(copy.kafka.bootstrap) == 3
    config = copy.to_node_config(SHANDONG)
    assert (config.kafka_replication_factor, config.kafka_min_insync_replicas) == (factor, in_sync)


def test_without_the_option_a_run_keeps_the_file_s_replication(tmp_path: Path) -> None:
    overrides = Overrides(feed="kafka", kafka=CLUSTER)
    copy = load_network(write_network_copy(demo_network(), overrides, tmp_path / "n.yaml"))
    assert copy.kafka is not None
    assert copy.kafka.replication_factor == 1
