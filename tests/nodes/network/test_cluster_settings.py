"""Network file settings for clusters: Kafka topics' replication (copies, and
copies in sync before a record is confirmed) and a Cassandra store's
consistency levels, checked on load and carried to the node."""

from __future__ import annotations

import pytest

from caseledger.nodes.network.file import NetworkFileError, parse_network
from caseledger.nodes.network.run_copy import Overrides, network_document

SHANDONG = "370000000000"


def network_with(kafka: str = "", store: str = "sqlite") -> str:
    return (
        "network: t\n"
        "kafka:\n"
        "  bootstrap: 127.0.0.1:19092,127.0.0.2:19092\n"
        f"{kafka}"
        "nodes:\n"
        f'  - {{code: "370000", name: 山东省, address: "127.0.0.1:50110", feed: kafka,'
        f" store: {store}}}\n"
    )


def test_replication_factor_and_min_insync_replicas_reach_the_node() -> None:
    network = parse_network(network_with("  replication_factor: 3\n  min_insync_replicas: 2\n"))
    config = network.to_node_config(SHANDONG)
    assert (config.kafka_replication_factor, config.kafka_min_insync_replicas) == (3, 2)


@pytest.mark.parametrize(("factor", "in_sync"), [(1, 1), (2, 2), (3, 2), (5, 2)])
def test_min_insync_replicas_defaults_to_two_or_the_replication_factor(
    factor: int, in_sync: int
) -> None:
    network = parse_network(network_with(f"  replication_factor: {factor}\n"))
    config = network.to_node_config(SHANDONG)
    assert (config.kafka_replication_factor, config.kafka_min_insync_replicas) == (
        factor,
        in_sync,
    )


def test_without_the_keys_topics_have_one_copy_confirmed_by_one() -> None:
    config = parse_network(network_with()).to_node_config(SHANDONG)
    assert (config.kafka_replication_factor, config.kafka_min_insync_replicas) == (1, 1)


def test_more_replicas_in_sync_than_copies_is_refused_with_line_and_reason() -> None:
    text = network_with("  replication_factor: 2\n  min_insync_replicas: 3\n")
    with pytest.raises(NetworkFileError) as caught:
        parse_network(text)
    assert caught.value.problems == [
        "line 5: kafka.min_insync_replicas: 3 is more than replication_factor 2: "
        "no write could ever be confirmed"
    ]


@pytest.mark.parametrize("value", ["0", "-1", "2.5", "'three'", "true"])
@pytest.mark.parametrize("key", ["replication_factor", "min_insync_replicas"])
def test_a_count_that_is_not_a_whole_number_of_at_least_one_is_refused(
    key: str, value: str
) -> None:
    with pytest.raises(NetworkFileError) as caught:
        parse_network(network_with(f"  {key}: {value}\n"))
    assert caught.value.problems == [f"line 4: kafka.{key}: must be a whole number of at least 1"]


def test_a_run_copy_keeps_the_replication_settings() -> None:
    network = parse_network(network_with("  replication_factor: 3\n"))
    document = network_document(network, Overrides())
    assert document["kafka"]["replication_factor"] == 3
    assert document["kafka"]["min_insync_replicas"] == 2


def test_consistency_levels_of_a_cassandra_store_reach_the_node() -> None:
    store = (
        "{kind: cassandra, write_consistency: QUORUM, read_consistency: LOCAL_ONE,"
        " serial_consistency: SERIAL}"
    )
    env = parse_network(network_with(store=store)).to_node_config(SHANDONG).extra_env
    assert env["CASSANDRA_WRITE_CONSISTENCY"] == "QUORUM"
    assert env["CASSANDRA_READ_CONSISTENCY"] == "LOCAL_ONE"
    assert env["CASSANDRA_SERIAL_CONSISTENCY"] == "SERIAL"


def test_without_consistency_keys_the_module_defaults_apply() -> None:
    env = parse_network(network_with(store="{kind: cassandra}")).to_node_config(SHANDONG).extra_env
    assert not {k for k in env if k.endswith("_CONSISTENCY")}


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("write_consistency", "local_quorum", "ALL, EACH_QUORUM, LOCAL_ONE, LOCAL_QUORUM"),
        ("read_consistency", "SERIAL", "ALL, EACH_QUORUM, LOCAL_ONE, LOCAL_QUORUM"),
        ("serial_consistency", "QUORUM", "LOCAL_SERIAL, SERIAL"),
    ],
)
def test_an_unknown_consistency_level_is_refused_naming_the_levels(
    key: str, value: str, expected: str
) -> None:
    with pytest.raises(NetworkFileError) as caught:
        parse_network(network_with(store=f"{{kind: cassandra, {key}: {value}}}"))
    [problem] = caught.value.problems
    assert f"store.{key}: unknown level {value!r}; expected one of {expected}" in problem


def test_consistency_keys_apply_to_cassandra_stores_only() -> None:
    with pytest.raises(NetworkFileError) as caught:
        parse_network(network_with(store="{kind: sqlite, write_consistency: ONE}"))
    [problem] = caught.value.problems
    assert "store.write_consistency: applies to kind cassandra only, not sqlite" in problem
