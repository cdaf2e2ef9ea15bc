"""Cassandra nodes of a network file: the lease key, the CASELEDGER_CASSANDRA override,
a run's copy that moves nodes to Cassandra under a keyspace prefix, and dropping
those keyspaces afterwards."""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from caseledger.ledger.cassandra.session import SESSIONS
from caseledger.nodes.config import NodeConfig
from caseledger.nodes.network.file import (
    NetworkFileError,
    demo_network,
    load_network,
    parse_network,
)
from caseledger.nodes.network.keyspaces import drop, keyspaces_of
from caseledger.nodes.network.model import Address, StoreSpec
from caseledger.nodes.network.run_copy import Overrides, network_document, write_network_copy
from caseledger.nodes.network.supervisor import store_choice
from tests import cassandra_fixtures as cf

SHANDONG = "370000000000"
JINAN = "370100000000"


def province_on(store: str) -> str:
    return (
        "network: t\n"
        "nodes:\n"
        f'  - {{code: "370000", name: 山东省, address: "127.0.0.1:50110", store: {store}}}\n'
        '  - {code: "370100", name: 济南市, address: "127.0.0.1:50111"}\n'
    )


def test_lease_seconds_of_a_cassandra_store_reaches_the_node_as_cassandra_lease_seconds() -> None:
    network = parse_network(
        province_on("{kind: cassandra, contact_points: [db1], lease_seconds: 3}")
    )
    assert network.node(SHANDONG).store.lease_seconds == 3
    assert network.to_node_config(SHANDONG).extra_env["CASSANDRA_LEASE_SECONDS"] == "3"


def test_without_lease_seconds_the_module_default_applies() -> None:
    network = parse_network(province_on("{kind: cassandra, contact_points: [db1]}"))
    assert "CASSANDRA_LEASE_SECONDS" not in network.to_node_config(SHANDONG).extra_env


@pytest.mark.parametrize("lease", ["1", "0", "2.5", "'ten'", "true"])
def test_a_lease_that_is_not_whole_seconds_of_at_least_two_is_refused(lease: str) -> None:
    store = f"{{kind: cassandra, contact_points: [db1], lease_seconds: {lease}}}"
    with pytest.raises(NetworkFileError) as caught:
        parse_network(province_on(store))
    assert caught.value.problems == [
        "line 3: nodes[0] (370000 山东省) store.lease_seconds: "
        "must be a whole number of seconds, at least 2"
    ]


def test_lease_seconds_on_a_sqlite_store_is_refused() -> None:
    with pytest.raises(NetworkFileError, match="lease_seconds: applies to kind cassandra only"):
        parse_network(province_on("{kind: sqlite, lease_seconds: 5}"))


def cassandra_node() -> NodeConfig:
    network = parse_network(province_on("{kind: cassandra, contact_points: [db1, db2]}"))
    return network.to_node_config(SHANDONG)


def test_caseledger_cassandra_replaces_the_contact_points_of_every_cassandra_store() -> None:
    config = cassandra_node()
    environ = {"CASELEDGER_CASSANDRA": "127.0.0.1:19042"}
    for database in (None, config.received_db, config.published_db):
        env = config.persistence_env(database, environ=environ)
        assert env["CASSANDRA_CONTACT_POINTS"] == "127.0.0.1:19042"
        assert env["CASSANDRA_KEYSPACE"] == "caseledger_370000000000"


def test_without_caseledger_cassandra_the_network_file_contact_points_are_used() -> None:
    env = cassandra_node().persistence_env(environ={})
    assert env["CASSANDRA_CONTACT_POINTS"] == "db1:9042,db2:9042"


def test_caseledger_cassandra_leaves_a_sqlite_store_alone(tmp_path: Path) -> None:
    config = NodeConfig(code=JINAN, data_dir=tmp_path)
    env = config.persistence_env(environ={"CASELEDGER_CASSANDRA": "127.0.0.1:19042"})
    assert env["PERSISTENCE_MODULE"] == "caseledger.ledger.sqlite.subscribing"
    assert "CASSANDRA_CONTACT_POINTS" not in env


def test_a_node_served_on_cassandra_without_a_network_file_takes_the_override() -> None:
    config = NodeConfig(code=JINAN, store="cassandra")
    env = config.persistence_env(environ={"CASELEDGER_CASSANDRA": "10.1.1.1:9142"})
    assert env["CASSANDRA_CONTACT_POINTS"] == "10.1.1.1:9142"


def province_copy(tmp_path: Path, cassandra: str, keyspace_prefix: str | None = None) -> Path:
    """The demo network with the province (named by its 6-digit code) on Cassandra."""
    overrides = Overrides(
        stores=((SHANDONG[:6], "cassandra"),), cassandra=cassandra, keyspace_prefix=keyspace_prefix
    )
    return write_network_copy(demo_network(), overrides, tmp_path / "copy.yaml")


def test_the_copy_puts_the_province_on_cassandra_and_leaves_the_others_on_sqlite(
    tmp_path: Path,
) -> None:
    copy = load_network(province_copy(tmp_path, "127.0.0.1:19042"))
    assert copy.node(SHANDONG).store == StoreSpec(
        "cassandra", (Address("127.0.0.1", 19042),), "caseledger_370000000000", 1
    )
    assert {n.store.kind for n in copy.nodes if n.code != SHANDONG} == {"sqlite"}


def test_the_copy_gives_every_cassandra_keyspace_the_run_prefix(tmp_path: Path) -> None:
    path = province_copy(tmp_path, "db1", "demo1a2b")
    store = load_network(path).node(SHANDONG).store
    assert store.keyspace == "demo1a2b_caseledger_370000000000"
    assert store.contact_points == (Address("db1", 9042),)


def test_the_copy_keeps_the_lease_of_a_node_already_on_cassandra(tmp_path: Path) -> None:
    source = tmp_path / "n.yaml"
    store = "{kind: cassandra, contact_points: [db1], keyspace: ks, lease_seconds: 4}"
    source.write_text(province_on(store), encoding="utf-8")
    overrides = Overrides(cassandra="db9:9142", keyspace_prefix="run7")
    copy = load_network(write_network_copy(load_network(source), overrides, tmp_path / "c.yaml"))
    assert copy.node(SHANDONG).store == StoreSpec(
        "cassandra", (Address("db9", 9142),), "run7_ks", 1, 4
    )


def test_a_run_on_a_cluster_gives_every_keyspace_its_replication_factor(tmp_path: Path) -> None:
    source = tmp_path / "n.yaml"
    source.write_text(province_on("{kind: cassandra, contact_points: [db1]}"), encoding="utf-8")
    overrides = Overrides(replication_factor=3)
    copy = load_network(write_network_copy(load_network(source), overrides, tmp_path / "c.yaml"))
    assert copy.node(SHANDONG).store.replication_factor == 3
    assert copy.to_node_config(SHANDONG).extra_env["CASSANDRA_REPLICATION_FACTOR"] == "3"


def test_a_node_moved_to_cassandra_without_a_cluster_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="370000000000 山东省 on Cassandra needs a cluster"):
        network_document(demo_network(), Overrides(stores=((SHANDONG, "cassandra"),)))


def test_a_store_for_a_node_not_listed_is_refused() -> None:
    overrides = Overrides(stores=(("370200", "cassandra"),), cassandra="db1")
    with pytest.raises(ValueError, match="--store 370200=cassandra: node 370200 is not listed"):
        network_document(demo_network(), overrides)


def test_a_prefix_that_makes_no_keyspace_name_is_refused() -> None:
    overrides = Overrides(stores=((SHANDONG, "cassandra"),), cassandra="db1")
    for prefix in ("demo-1", "x" * 30):
        prefixed = dataclasses.replace(overrides, keyspace_prefix=prefix)
        with pytest.raises(ValueError, match="is not a keyspace name"):
            network_document(demo_network(), prefixed)


def test_store_choices_name_a_node_and_a_kind() -> None:
    assert store_choice("370000000000=cassandra") == ("370000000000", "cassandra")
    for bad in ("370000000000", "370000000000=mongo", "=sqlite"):
        with pytest.raises(argparse.ArgumentTypeError, match="write CODE=KIND"):
            store_choice(bad)


def test_drop_keyspaces_without_yes_only_lists_them(tmp_path: Path) -> None:
    path = province_copy(tmp_path, "127.0.0.1:1", "never")
    # Without the override, so the listing shows the copy's own cluster.
    environ = {k: v for k, v in os.environ.items() if k != "CASELEDGER_CASSANDRA"}
    result = subprocess.run(
        [sys.executable, "-m", "caseledger.nodes", "network", "drop-keyspaces", str(path)],
        capture_output=True, text=True, check=False, env=environ,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stdout == (
        "would drop keyspace never_caseledger_370000000000 at 127.0.0.1:1 "
        "(node 370000000000 山东省)\n"
    )
    assert "give --yes" in result.stderr


@pytest.mark.cassandra
def test_the_keyspaces_of_a_run_are_dropped_afterwards(tmp_path: Path) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}"
    path = province_copy(tmp_path, cf.address(), prefix)
    (found,) = keyspaces_of(load_network(path))
    session = SESSIONS.acquire(found.settings)
    try:
        session.schema(f"CREATE KEYSPACE {found.settings.keyspace} WITH replication = "
                       "{'class': 'SimpleStrategy', 'replication_factor': 1}")  # fmt: skip
        drop(found)
        rows = session.rows(
            "SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = ?",
            (found.settings.keyspace,),
        )
    finally:
        SESSIONS.release(session)
    assert rows == []
