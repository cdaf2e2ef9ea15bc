"""The network model: the demo network and how nodes nest by their codes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caseledger.ledger.codes.division import DivisionCode, Level
from caseledger.nodes.network.file import demo_network, parse_network
from caseledger.nodes.network.model import Address, Network, NodeNotListed, NodeSpec, StoreSpec

SHANDONG = "370000000000"
JINAN = "370100000000"
LIXIA = "370102000000"
JIEFANGLU = "370102001000"
PINGYIN = "370124000000"
DONGE = "370124102000"


def codes(nodes: tuple[NodeSpec, ...]) -> list[str]:
    return [node.code for node in nodes]


def network_of(*listed: str) -> Network:
    """A network of the given codes, each on its own port; a node whose nearest
    listed ancestor is not directly above it names it as `parent`, as the file
    format asks."""
    lines = ["network: test", "nodes:"]
    for port, code in enumerate(listed, start=50200):
        lines += [f'  - code: "{code}"', f"    name: n{code}", f"    address: 127.0.0.1:{port}"]
        ancestors = [a.code for a in DivisionCode(code).ancestors()]
        nearest = next((a for a in ancestors if a in listed), None)
        if nearest is not None and nearest != ancestors[0]:
            lines.append(f'    parent: "{nearest}"')
    return parse_network("\n".join(lines))


@pytest.fixture(scope="module")
def demo() -> Network:
    return demo_network()


def test_demo_network_lists_the_six_shandong_nodes_in_file_order(demo: Network) -> None:
    assert demo.name == "shandong-demo"
    assert codes(demo.nodes) == [SHANDONG, JINAN, LIXIA, JIEFANGLU, PINGYIN, DONGE]
    assert [n.name for n in demo.nodes] == [
        "山东省",
        "济南市",
        "历下区",
        "解放路街道",
        "平阴县",
        "东阿镇",
    ]


def test_demo_nodes_listen_on_distinct_local_ports_from_50110(demo: Network) -> None:
    assert [str(n.address) for n in demo.nodes] == [f"127.0.0.1:{p}" for p in range(50110, 50116)]


def test_demo_nodes_use_sqlite_grpc_and_var_demo(demo: Network) -> None:
    for node in demo.nodes:
        assert node.store == StoreSpec("sqlite")
        assert node.feed == "grpc"
        assert node.data_dir == Path("var/demo")
    assert demo.kafka is None


def test_levels_are_read_from_the_codes(demo: Network) -> None:
    assert [n.level for n in demo.nodes] == [
        Level.PROVINCE,
        Level.CITY,
        Level.COUNTY,
        Level.TOWNSHIP,
        Level.COUNTY,
        Level.TOWNSHIP,
    ]


def test_the_province_is_the_root_and_has_no_parent(demo: Network) -> None:
    assert demo.root.code == SHANDONG
    assert demo.parent_of(SHANDONG) is None


def test_province_subtree_is_every_other_node(demo: Network) -> None:
    assert codes(demo.subtree_of(SHANDONG)) == [JINAN, LIXIA, JIEFANGLU, PINGYIN, DONGE]


def test_lixia_subtree_is_jiefanglu_only(demo: Network) -> None:
    assert codes(demo.subtree_of(LIXIA)) == [JIEFANGLU]


def test_a_township_subtree_is_empty(demo: Network) -> None:
    assert demo.subtree_of(DONGE) == ()


def test_donge_parent_is_pingyin(demo: Network) -> None:
    parent = demo.parent_of(DONGE)
    assert parent is not None
    assert parent.code == PINGYIN


def test_ancestors_of_jiefanglu_climb_to_the_province_nearest_first(demo: Network) -> None:
    assert codes(demo.ancestors_of(JIEFANGLU)) == [LIXIA, JINAN, SHANDONG]


def test_children_of_jinan_are_its_two_counties(demo: Network) -> None:
    assert codes(demo.children_of(JINAN)) == [LIXIA, PINGYIN]


def test_children_of_the_province_are_the_city_only(demo: Network) -> None:
    assert codes(demo.children_of(SHANDONG)) == [JINAN]


def test_a_township_whose_county_is_not_listed_hangs_under_the_city() -> None:
    network = network_of(SHANDONG, JINAN, DONGE)
    parent = network.parent_of(DONGE)
    assert parent is not None
    assert parent.code == JINAN
    assert codes(network.children_of(JINAN)) == [DONGE]


def test_a_township_with_neither_county_nor_city_listed_hangs_under_the_province() -> None:
    network = network_of(SHANDONG, JIEFANGLU)
    parent = network.parent_of(JIEFANGLU)
    assert parent is not None
    assert parent.code == SHANDONG


def test_a_city_can_be_the_root_of_a_network_without_its_province() -> None:
    network = network_of(JINAN, LIXIA)
    assert network.root.code == JINAN


def test_a_node_is_found_by_its_six_digit_code(demo: Network) -> None:
    assert demo.node("370102").name == "历下区"


def test_asking_for_an_unlisted_node_names_it_and_the_network(demo: Network) -> None:
    with pytest.raises(NodeNotListed) as raised:
        demo.subtree_of("370200")
    assert str(raised.value) == "node 370200 is not listed in network shandong-demo"


def test_node_config_carries_the_listed_address_store_and_data_dir(demo: Network) -> None:
    config = demo.to_node_config("370124")
    assert config.code == PINGYIN
    assert config.name == "平阴县"
    assert config.listen == "127.0.0.1:50114"
    assert config.store == "sqlite"
    assert config.feed == "grpc"
    assert config.event_db == Path("var/demo") / f"{PINGYIN}.events.sqlite"
    assert config.extra_env == {}


def test_node_config_of_a_cassandra_node_carries_the_cluster_and_keyspace() -> None:
    network = parse_network(
        "network: t\n"
        "nodes:\n"
        '  - {code: "370000", name: 山东省, address: "127.0.0.1:50110",\n'
        "     store: {kind: cassandra, contact_points: [127.0.0.1, '10.0.0.2:9142']}}\n"
    )
    assert network.to_node_config(SHANDONG).extra_env == {
        "CASSANDRA_CONTACT_POINTS": "127.0.0.1:9042,10.0.0.2:9142",
        "CASSANDRA_KEYSPACE": "caseledger_370000000000",
        "CASSANDRA_REPLICATION_FACTOR": "1",
    }


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("127.0.0.1:50110", Address("127.0.0.1", 50110)),
        (" localhost:1 ", Address("localhost", 1)),
        ("[::1]:65535", Address("::1", 65535)),
    ],
)
def test_addresses_parse_host_and_port(text: str, address: Address) -> None:
    assert Address.parse(text) == address


def test_an_ipv6_address_prints_in_brackets() -> None:
    assert str(Address("::1", 50110)) == "[::1]:50110"


def test_an_address_without_port_takes_the_default_port() -> None:
    assert Address.parse("cassandra-1", default_port=9042) == Address("cassandra-1", 9042)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("127.0.0.1", "'127.0.0.1' has no port: write host:port"),
        (":50110", "':50110' has no host: write host:port"),
        ("127.0.0.1:0", "'127.0.0.1:0': the port must be a number from 1 to 65535"),
        ("127.0.0.1:65536", "'127.0.0.1:65536': the port must be a number from 1 to 65535"),
        ("127.0.0.1:http", "'127.0.0.1:http': the port must be a number from 1 to 65535"),
        ("::1:50110", "'::1:50110': write an IPv6 host in brackets, e.g. [::1]:50110"),
        ("[::1]50110", "'[::1]50110' is not [IPv6 host]:port"),
    ],
)
def test_a_bad_address_says_what_is_wrong(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(reason)}$"):
        Address.parse(text)


# Real Shandong divisions at every level, so random networks nest several deep.
_SHANDONG_CODES = [
    JINAN,
    LIXIA,
    JIEFANGLU,
    "370102002000",
    PINGYIN,
    DONGE,
    "370200000000",
    "370202000000",
    "370202001000",
    "370211000000",
]


@given(st.sets(st.sampled_from(_SHANDONG_CODES)))
def test_a_node_is_in_a_subtree_exactly_when_that_subtree_root_is_its_ancestor(
    chosen: set[str],
) -> None:
    network = network_of(SHANDONG, *sorted(chosen))
    for top in network.nodes:
        below = set(codes(network.subtree_of(top.code)))
        above_each = {n.code for n in network.nodes if top in network.ancestors_of(n.code)}
        assert below == above_each


@given(st.sets(st.sampled_from(_SHANDONG_CODES)))
def test_every_node_but_the_root_is_a_child_of_exactly_one_node(chosen: set[str]) -> None:
    network = network_of(SHANDONG, *sorted(chosen))
    children = [c.code for node in network.nodes for c in network.children_of(node.code)]
    assert sorted(children) == sorted(n.code for n in network.nodes if n != network.root)
