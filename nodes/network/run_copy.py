"""A network file rewritten for one run: other folders, ports, feed, broker or stores.

The supervisor runs a network somewhere else than its file says (the demo in
a temporary folder, tests on free ports), so it writes the checked network
back out as a network file with the changes made, and the node processes
read that copy. The copy is written from the loaded `Network`, never patched
as text, so it says exactly what the nodes will do.

A run may also move nodes to another store (the demo puts the province on
Cassandra), point every Cassandra store at one cluster, and give every
keyspace a prefix of its own, so a throwaway run never meets the keyspaces
of another and can drop its own afterwards (`keyspaces`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from caseledger.nodes.network.model import (
    CASSANDRA_PORT,
    KEYSPACE_NAME,
    Address,
    FeedKind,
    Network,
    NodeNotListed,
    NodeSpec,
    StoreKind,
    StoreSpec,
)

_HIGHEST_PORT = 65535


@dataclass(frozen=True)
class Overrides:
    """What to change; None leaves the file's value."""

    data: Path | None = None
    """Every node's data_dir (the node's files are named by its code, so they can share one)."""
    base_port: int | None = None
    """Node i (file order) listens on base_port + i, on its listed host."""
    feed: FeedKind | None = None
    kafka: str | None = None
    """The broker's host:port (or a comma-separated list)."""
    topic_prefix: str | None = None
    stores: tuple[tuple[str, StoreKind], ...] = ()
    """(code, kind): these nodes run on this kind of store."""
    cassandra: str | None = None
    """The contact points (host:port, comma-separated) of every Cassandra store."""
    keyspace_prefix: str | None = None
    """Put before every Cassandra keyspace, with `_` between."""
    views_dsn: str | None = None
    """Every node keeps its views in this PostgreSQL database."""
    views_schema_prefix: str | None = None
    """Put before every node's views schema, with `_` between."""
    replication_factor: int | None = None
    """Copies of every Cassandra keyspace and Kafka topic (a run on a cluster)."""

    def any(self) -> bool:
        values = (
            self.data,
            self.base_port,
            self.feed,
            self.kafka,
            self.topic_prefix,
            self.cassandra,
            self.keyspace_prefix,
            self.views_dsn,
            self.views_schema_prefix,
            self.replication_factor,
        )
        return bool(self.stores) or any(value is not None for value in values)


def network_document(network: Network, overrides: Overrides) -> dict[str, Any]:
    """The network file's content with `overrides` applied; ValueError when they cannot be."""
    count = len(network.nodes)
    if overrides.base_port is not None and not (
        overrides.base_port >= 1 and overrides.base_port + count - 1 <= _HIGHEST_PORT
    ):
        raise ValueError(
            f"--base-port {overrides.base_port}: {count} ports from there must fit in "
            f"1-{_HIGHEST_PORT}"
        )
    document: dict[str, Any] = {"network": network.name}
    # The CA goes with the stores when they move (--data), so a run keeps its own PKI.
    pki = overrides.data.resolve() / "pki" if overrides.data is not None else network.pki
    document["security"] = {
        "pki": str(pki),
        "insecure": network.insecure,
        "audience": network.audience,
    }
    kafka = _kafka_section(network, overrides)
    if kafka is not None:
        document["kafka"] = kafka
    views = _views_section(network, overrides)
    if views is not None:
        document["views"] = views
    stores = _store_kinds(network, overrides)
    document["nodes"] = [
        _node_entry(node, index, overrides, stores.get(node.code))
        for index, node in enumerate(network.nodes)
    ]
    return document


def write_network_copy(network: Network, overrides: Overrides, path: Path) -> Path:
    """Write the rewritten network file to `path` (its folder is created); returns `path`."""
    document = network_document(network, overrides)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (
        f"# The network {network.name} from {network.source}, rewritten for this run.\n"
        "# Format: see caseledger/nodes/network/file.py.\n"
    )
    body = yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    path.write_text(header + body, encoding="utf-8")
    return path


def _views_section(network: Network, overrides: Overrides) -> dict[str, Any] | None:
    dsn = overrides.views_dsn or (network.views.dsn if network.views else "")
    prefix = overrides.views_schema_prefix or (network.views.schema_prefix if network.views else "")
    if network.views is None and not overrides.views_dsn:
        if overrides.views_schema_prefix:
            raise ValueError(
                "--views-schema-prefix applies to views in PostgreSQL: give --views-dsn"
            )
        return None
    section: dict[str, Any] = {"store": "postgres"}
    if dsn:
        section["dsn"] = dsn
    if prefix:
        section["schema_prefix"] = prefix
    return section


def _kafka_section(network: Network, overrides: Overrides) -> dict[str, Any] | None:
    uses_kafka = overrides.feed == "kafka" or (
        overrides.feed is None and any(node.feed == "kafka" for node in network.nodes)
    )
    bootstrap: list[str] | None = None
    prefix = overrides.topic_prefix
    replication: dict[str, Any] = {}
    if network.kafka is not None:
        bootstrap = [str(a) for a in network.kafka.bootstrap]
        prefix = prefix or network.kafka.topic_prefix
        replication = {
            "replication_factor": network.kafka.replication_factor,
            "min_insync_replicas": network.kafka.in_sync,
        }
    if overrides.kafka is not None:
        bootstrap = [part.strip() for part in overrides.kafka.split(",") if part.strip()]
    if overrides.replication_factor is not None:
        # A majority in sync: one copy may be lost and every write still
        # lands on two (with 3), none is confirmed on a copy alone.
        factor = overrides.replication_factor
        replication = {"replication_factor": factor, "min_insync_replicas": factor // 2 + 1}
    if bootstrap is None:
        if uses_kafka:
            raise ValueError("the kafka feed needs a broker: give --kafka HOST:PORT")
        return None
    return {"bootstrap": bootstrap, "topic_prefix": prefix or "caseledger", **replication}


def _store_kinds(network: Network, overrides: Overrides) -> dict[str, StoreKind]:
    """The `stores` overrides by 12-digit code; ValueError names a node not listed."""
    kinds: dict[str, StoreKind] = {}
    for code, kind in overrides.stores:
        try:
            kinds[network.node(code).code] = kind
        except NodeNotListed as error:
            raise ValueError(f"--store {code}={kind}: {error}") from None
    return kinds


def _node_entry(
    node: NodeSpec, index: int, overrides: Overrides, kind: StoreKind | None
) -> dict[str, Any]:
    address = node.address
    if overrides.base_port is not None:
        address = Address(address.host, overrides.base_port + index)
    data_dir = overrides.data.resolve() if overrides.data is not None else node.data_dir
    store = node.store if kind in (None, node.store.kind) else StoreSpec(kind)
    return {
        "code": node.code,
        "name": node.name,
        "level": node.level.name.lower(),
        "address": str(address),
        "store": _store_entry(_run_store(node, store, overrides)),
        "feed": overrides.feed or node.feed,
        "data_dir": str(data_dir),
    }


def _run_store(node: NodeSpec, store: StoreSpec, overrides: Overrides) -> StoreSpec:
    """A Cassandra store on the run's cluster and with the run's keyspace prefix."""
    if store.kind != "cassandra":
        return store
    points = store.contact_points
    if overrides.cassandra is not None:
        parts = [part for part in overrides.cassandra.split(",") if part.strip()]
        points = tuple(Address.parse(part, CASSANDRA_PORT) for part in parts)
    if not points:
        raise ValueError(
            f"node {node} on Cassandra needs a cluster: give --cassandra HOST:PORT "
            "(or set CASELEDGER_CASSANDRA)"
        )
    keyspace = store.keyspace or f"caseledger_{node.code}"
    if overrides.keyspace_prefix is not None:
        keyspace = f"{overrides.keyspace_prefix}_{keyspace}"
        if not KEYSPACE_NAME.fullmatch(keyspace):
            raise ValueError(
                f"--keyspace-prefix {overrides.keyspace_prefix}: {keyspace} is not a keyspace "
                "name (a letter, then at most 47 letters, digits or _)"
            )
    factor = overrides.replication_factor or store.replication_factor
    return replace(store, contact_points=points, keyspace=keyspace, replication_factor=factor)


def _store_entry(store: StoreSpec) -> str | dict[str, Any]:
    if store.kind != "cassandra":
        return store.kind
    entry: dict[str, Any] = {
        "kind": store.kind,
        "contact_points": [str(a) for a in store.contact_points],
        "keyspace": store.keyspace,
        "replication_factor": store.replication_factor,
    }
    if store.lease_seconds is not None:
        entry["lease_seconds"] = store.lease_seconds
    return entry
