"""The network file: every problem is found on load, named by line, node and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from caseledger.nodes.network.file import NetworkFileError, load_network, parse_network
from caseledger.nodes.network.model import Address, KafkaSettings, StoreSpec

# Line 3 is the province, line 6 the city; tests append nodes from line 9 on.
TWO_NODES = """\
network: test
nodes:
  - code: "370000000000"
    name: 山东省
    address: 127.0.0.1:50110
  - code: "370100000000"
    name: 济南市
    address: 127.0.0.1:50111
"""

PROVINCE = "nodes[0] (370000000000 山东省)"
CITY = "nodes[1] (370100000000 济南市)"


def problems_of(text: str) -> list[str]:
    with pytest.raises(NetworkFileError) as raised:
        parse_network(text)
    return raised.value.problems


def with_node(code: str, name: str = "历下区", address: str = "127.0.0.1:50112") -> str:
    return TWO_NODES + f'  - code: "{code}"\n    name: {name}\n    address: {address}\n'


def test_a_well_formed_file_loads() -> None:
    network = parse_network(with_node("370102000000"))
    assert [n.name for n in network.nodes] == ["山东省", "济南市", "历下区"]


def test_a_code_written_as_a_yaml_number_is_read_as_its_digits() -> None:
    text = "network: t\nnodes:\n  - {code: 370000, name: 山东省, address: 'localhost:1'}\n"
    assert parse_network(text).root.code == "370000000000"


def test_an_unknown_province_code_is_refused() -> None:
    assert problems_of(with_node("990100000000")) == [
        "line 9: nodes[2] (990100000000 历下区) code: 990100000000 is not a division code: "
        "province part 99 is not a GB/T 2260 province code"
    ]


def test_a_code_of_the_wrong_length_is_refused() -> None:
    assert problems_of(with_node("3701020")) == [
        "line 9: nodes[2] (3701020 历下区) code: 3701020 is not a division code: "
        "must be 6 or 12 digits, got 7 characters"
    ]


def test_a_missing_code_is_reported() -> None:
    text = TWO_NODES + "  - name: 历下区\n    address: 127.0.0.1:50112\n"
    assert problems_of(text) == [
        "line 9: nodes[2] (历下区) code: missing: the 12-digit (or 6-digit) division code"
    ]


def test_a_code_listed_twice_is_refused_even_in_its_six_digit_form() -> None:
    assert problems_of(with_node("370100", name="济南")) == [
        f"line 9: nodes[2] (370100 济南) code: 370100000000 is already listed as {CITY}"
    ]


def test_an_address_used_twice_is_refused() -> None:
    assert problems_of(with_node("370102000000", address="127.0.0.1:50111")) == [
        f"line 11: nodes[2] (370102000000 历下区) address: 127.0.0.1:50111 is already "
        f"the address of {CITY}"
    ]


def test_localhost_and_127_0_0_1_on_one_port_clash() -> None:
    assert problems_of(with_node("370102000000", address="localhost:50110")) == [
        "line 11: nodes[2] (370102000000 历下区) address: port 50110 clashes "
        f"(both hosts are this machine's loopback) with {PROVINCE}"
    ]


def test_the_wildcard_host_clashes_with_any_host_on_its_port() -> None:
    assert problems_of(with_node("370102000000", address="0.0.0.0:50111")) == [
        "line 11: nodes[2] (370102000000 历下区) address: port 50111 clashes "
        f"(0.0.0.0 takes it on every interface) with {CITY}"
    ]


def test_the_same_port_on_two_machines_is_allowed() -> None:
    network = parse_network(with_node("370102000000", address="10.0.0.7:50111"))
    assert network.node("370102").address == Address("10.0.0.7", 50111)


def test_an_address_without_port_is_refused() -> None:
    assert problems_of(with_node("370102000000", address="127.0.0.1")) == [
        "line 11: nodes[2] (370102000000 历下区) address: '127.0.0.1' has no port: write host:port"
    ]


def test_a_node_outside_the_root_prefix_is_refused() -> None:
    assert problems_of(with_node("320100000000", name="南京市")) == [
        "line 9: nodes[2] (320100000000 南京市) code: no listed ancestor: 320100000000 "
        f"lies outside prefix 37 of the root {PROVINCE}"
    ]


def test_two_roots_at_the_top_level_are_refused() -> None:
    assert problems_of(with_node("320000000000", name="江苏省")) == [
        f"line 9: nodes[2] (320000000000 江苏省) code: a second root beside {PROVINCE}: "
        "a network has exactly one root; list a common ancestor or split the network"
    ]


def test_two_cities_without_their_province_are_two_roots() -> None:
    text = TWO_NODES.replace('"370000000000"', '"370200000000"').replace("山东省", "青岛市")
    assert problems_of(text) == [
        "line 6: nodes[1] (370100000000 济南市) code: a second root beside "
        "nodes[0] (370200000000 青岛市): a network has exactly one root; "
        "list a common ancestor or split the network"
    ]


def test_a_missing_name_is_reported() -> None:
    text = TWO_NODES + '  - code: "370102000000"\n    address: 127.0.0.1:50112\n'
    assert problems_of(text) == [
        "line 9: nodes[2] (370102000000) name: missing: the division's name, e.g. 济南市"
    ]


def test_a_blank_name_is_reported() -> None:
    assert problems_of(with_node("370102000000", name="'  '")) == [
        "line 10: nodes[2] (370102000000) name: must be a non-blank text"
    ]


def test_a_level_that_contradicts_the_code_is_refused() -> None:
    text = with_node("370102000000") + "    level: city\n"
    assert problems_of(text) == [
        "line 12: nodes[2] (370102000000 历下区) level: city does not match code "
        "370102000000, a county"
    ]


def test_an_unknown_level_is_refused() -> None:
    text = with_node("370102000000") + "    level: district\n"
    assert problems_of(text) == [
        "line 12: nodes[2] (370102000000 历下区) level: unknown level 'district'; "
        "expected one of province, city, county, township"
    ]


def test_an_unknown_store_kind_is_refused() -> None:
    text = with_node("370102000000") + "    store: {kind: postgres}\n"
    assert problems_of(text) == [
        "line 12: nodes[2] (370102000000 历下区) store.kind: unknown store kind 'postgres'; "
        "expected one of sqlite, memory, cassandra"
    ]


def test_an_unknown_default_store_kind_is_refused() -> None:
    text = TWO_NODES.replace("nodes:\n", "defaults: {store: mysql}\nnodes:\n")
    assert problems_of(text) == [
        "line 2: defaults.store.kind: unknown store kind 'mysql'; "
        "expected one of sqlite, memory, cassandra"
    ]


def test_an_unknown_feed_kind_is_refused() -> None:
    text = with_node("370102000000") + "    feed: rabbitmq\n"
    assert problems_of(text) == [
        "line 12: nodes[2] (370102000000 历下区) feed: unknown feed kind 'rabbitmq'; "
        "expected one of grpc, kafka"
    ]


def test_a_kafka_feed_without_a_kafka_section_is_refused() -> None:
    text = with_node("370102000000") + "    feed: kafka\n"
    assert problems_of(text) == [
        "line 12: nodes[2] (370102000000 历下区) feed: kafka needs the top-level kafka "
        "section (bootstrap, topic_prefix)"
    ]


def test_a_default_kafka_feed_without_a_kafka_section_is_reported_once() -> None:
    text = TWO_NODES.replace("nodes:\n", "defaults: {feed: kafka}\nnodes:\n")
    assert problems_of(text) == [
        "line 2: defaults.feed: kafka needs the top-level kafka section (bootstrap, topic_prefix)"
    ]


def test_a_kafka_section_makes_the_kafka_feed_usable() -> None:
    text = "kafka: {bootstrap: '127.0.0.1:9092,127.0.0.1:9093'}\n" + with_node(
        "370102000000"
    ).replace("nodes:\n", "defaults: {feed: kafka}\nnodes:\n")
    network = parse_network(text)
    assert network.kafka == KafkaSettings(
        (Address("127.0.0.1", 9092), Address("127.0.0.1", 9093)), "caseledger"
    )
    assert {n.feed for n in network.nodes} == {"kafka"}


def test_a_kafka_bootstrap_without_port_is_refused() -> None:
    text = "kafka:\n  bootstrap: [broker-1]\n" + TWO_NODES
    assert problems_of(text) == [
        "line 2: kafka.bootstrap[0]: 'broker-1' has no port: write host:port"
    ]


def test_a_cassandra_store_gets_the_default_port_and_a_keyspace_per_node() -> None:
    text = TWO_NODES.replace(
        "nodes:\n", "defaults:\n  store: {kind: cassandra, contact_points: [db1]}\nnodes:\n"
    )
    network = parse_network(text)
    assert network.node("370100").store == StoreSpec(
        "cassandra", (Address("db1", 9042),), "caseledger_370100000000", 1
    )


def test_two_cassandra_nodes_may_not_share_a_keyspace_on_one_cluster() -> None:
    store = "{kind: cassandra, contact_points: ['db1', 'db2'], keyspace: ledger}"
    text = TWO_NODES.replace("nodes:\n", f"defaults:\n  store: {store}\nnodes:\n")
    assert problems_of(text) == [
        f"line 3: defaults.store.keyspace: {CITY} shares keyspace ledger with {PROVINCE} "
        "on one cluster; each node needs its own"
    ]


def test_cassandra_settings_on_a_sqlite_store_are_refused() -> None:
    text = with_node("370102000000") + "    store: {kind: sqlite, keyspace: x}\n"
    assert problems_of(text) == [
        "line 12: nodes[2] (370102000000 历下区) store.keyspace: applies to kind cassandra "
        "only, not sqlite"
    ]


def test_an_unknown_key_is_refused_so_a_typo_never_falls_back_to_a_default() -> None:
    text = with_node("370102000000") + "    stroe: memory\n"
    assert problems_of(text) == [
        "line 12: nodes[2] (370102000000 历下区) stroe: unknown key; expected one of "
        "code, name, level, parent, address, store, feed, data_dir"
    ]


def test_a_duplicate_key_is_refused() -> None:
    text = with_node("370102000000") + "    address: 127.0.0.1:50113\n"
    assert problems_of(text) == ["line 12: nodes[2].address: duplicate key"]


def test_a_file_without_nodes_is_refused() -> None:
    assert problems_of("network: empty\n") == ["line 1: nodes: missing: list at least one node"]


def test_an_empty_file_is_refused() -> None:
    assert problems_of("") == [
        "line 1: file: the file is empty; it needs the keys network and nodes"
    ]


def test_a_network_without_a_name_is_refused() -> None:
    assert problems_of(TWO_NODES.replace("network: test\n", "")) == [
        "line 1: network: missing: name the network"
    ]


def test_every_problem_is_reported_in_line_order() -> None:
    text = (
        TWO_NODES.replace("network: test\n", "network: test\nkafka: {bootstrap: b:1, x: 1}\n")
        + '  - code: "370102000000"\n'
        + "    address: localhost:50110\n"
        + "    feed: carrier-pigeon\n"
        + '  - code: "440100000000"\n'
        + "    name: 广州市\n"
        + "    address: 127.0.0.1:50113\n"
    )
    assert problems_of(text) == [
        "line 2: kafka.x: unknown key; expected one of bootstrap, topic_prefix, "
        "replication_factor, min_insync_replicas",
        "line 10: nodes[2] (370102000000) name: missing: the division's name, e.g. 济南市",
        "line 11: nodes[2] (370102000000) address: port 50110 clashes "
        f"(both hosts are this machine's loopback) with {PROVINCE}",
        "line 12: nodes[2] (370102000000) feed: unknown feed kind 'carrier-pigeon'; "
        "expected one of grpc, kafka",
        "line 13: nodes[3] (440100000000 广州市) code: no listed ancestor: 440100000000 "
        f"lies outside prefix 37 of the root {PROVINCE}",
    ]


def test_a_yaml_syntax_error_gives_its_line_and_column() -> None:
    text = TWO_NODES + '  - code: "370102000000\n    name: 历下区\n'
    (problem,) = problems_of(text)
    assert problem.startswith("line 11, column 1: YAML syntax error: ")
    assert "found unexpected end of stream" in problem


def test_the_error_names_the_file_and_lists_each_problem(tmp_path: Path) -> None:
    path = tmp_path / "network.yaml"
    path.write_text(with_node("370100"), encoding="utf-8")
    with pytest.raises(NetworkFileError) as raised:
        load_network(path)
    assert raised.value.path == str(path)
    assert str(raised.value) == (
        f"{path}: 1 problem in the network file\n"
        f"  - line 9: nodes[2] (370100 历下区) code: 370100000000 is already listed as {CITY}"
    )


def test_a_missing_file_is_a_network_file_error(tmp_path: Path) -> None:
    with pytest.raises(NetworkFileError) as raised:
        load_network(tmp_path / "absent.yaml")
    (problem,) = raised.value.problems
    assert problem.startswith("cannot read the file: ")


def test_a_file_on_disk_loads_with_its_path_as_source(tmp_path: Path) -> None:
    path = tmp_path / "network.yaml"
    path.write_text(TWO_NODES, encoding="utf-8")
    assert load_network(path).source == str(path)
