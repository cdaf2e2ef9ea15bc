"""The network (网络): which nodes make up a caseledger network, and how they nest.

A network is read from a network file (`caseledger.nodes.network.file`
documents the format and checks it on load) and held here as frozen
values. A node's parent is its nearest *listed* ancestor by division code,
so a township whose county is not listed hangs under its city (the file
must then confirm it with `parent:`), and a node's subtree is every listed
node inside its jurisdiction prefix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal, get_args

from caseledger.ledger.codes.division import DivisionCode, Level
from caseledger.nodes.config import NodeConfig

StoreKind = Literal["sqlite", "memory", "cassandra"]
FeedKind = Literal["grpc", "kafka"]
STORE_KINDS: tuple[StoreKind, ...] = get_args(StoreKind)
FEED_KINDS: tuple[FeedKind, ...] = get_args(FeedKind)

CASSANDRA_PORT = 9042
# An unquoted CQL identifier: what a keyspace may be called.
KEYSPACE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,47}")
# The Cassandra module refuses shorter leases (docs/cassandra.md says why).
SHORTEST_LEASE_SECONDS = 2


class NodeNotListed(KeyError):
    """A division code that names no node of the network."""

    def __init__(self, code: str, network: str) -> None:
        self.code = code
        self.network = network
        super().__init__(f"node {code} is not listed in network {network}")

    def __str__(self) -> str:
        # KeyError would show the message quoted, as if it were a key.
        return str(self.args[0])


@dataclass(frozen=True, order=True)
class Address:
    """A host and TCP port; IPv6 hosts are written in brackets."""

    host: str
    port: int

    @classmethod
    def parse(cls, text: str, default_port: int | None = None) -> Address:
        """Read `host:port` (`[v6 host]:port`); ValueError says what is wrong."""
        text = text.strip()
        if text.startswith("["):
            host, bracket, rest = text[1:].partition("]")
            if not bracket or (rest and not rest.startswith(":")):
                raise ValueError(f"{text!r} is not [IPv6 host]:port")
            port_text = rest[1:]
        else:
            host, colon, port_text = text.rpartition(":")
            if not colon:
                host, port_text = text, ""
            elif ":" in host:
                raise ValueError(f"{text!r}: write an IPv6 host in brackets, e.g. [::1]:50110")
        if not host or any(c.isspace() for c in host):
            raise ValueError(f"{text!r} has no host: write host:port")
        if not port_text:
            if default_port is None:
                raise ValueError(f"{text!r} has no port: write host:port")
            return cls(host, default_port)
        if not (port_text.isascii() and port_text.isdigit()) or not 1 <= int(port_text) <= 65535:
            raise ValueError(f"{text!r}: the port must be a number from 1 to 65535")
        return cls(host, int(port_text))

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class StoreSpec:
    """A node's event store: `sqlite` (one file per node), `memory`, or `cassandra`.

    The Cassandra fields are empty for the other kinds; for a Cassandra
    node the keyspace is always set (by default `caseledger_<code>`), and no
    contact points means the process's cluster (CASELEDGER_CASSANDRA, else
    127.0.0.1:9042).
    """

    kind: StoreKind = "sqlite"
    contact_points: tuple[Address, ...] = ()
    keyspace: str | None = None
    replication_factor: int = 1
    lease_seconds: int | None = None
    """How long the writer lease outlives a dead writer; None: the module's default."""
    write_consistency: str | None = None
    read_consistency: str | None = None
    serial_consistency: str | None = None
    """Consistency levels of writes, reads and lightweight transactions; None: the
    module's defaults (LOCAL_QUORUM, LOCAL_QUORUM, LOCAL_SERIAL)."""

    def persistence_env(self) -> dict[str, str]:
        """Settings of the Cassandra persistence module; empty for the other kinds."""
        if self.kind != "cassandra":
            return {}
        env = {
            "CASSANDRA_KEYSPACE": self.keyspace or "",
            "CASSANDRA_REPLICATION_FACTOR": str(self.replication_factor),
        }
        if self.contact_points:
            env["CASSANDRA_CONTACT_POINTS"] = ",".join(str(a) for a in self.contact_points)
        if self.lease_seconds is not None:
            env["CASSANDRA_LEASE_SECONDS"] = str(self.lease_seconds)
        levels = {
            "CASSANDRA_WRITE_CONSISTENCY": self.write_consistency,
            "CASSANDRA_READ_CONSISTENCY": self.read_consistency,
            "CASSANDRA_SERIAL_CONSISTENCY": self.serial_consistency,
        }
        env.update({name: level for name, level in levels.items() if level is not None})
        return env


@dataclass(frozen=True)
class ViewsSettings:
    """Where every node of the network keeps its views: in PostgreSQL at `dsn`
    (empty: the node process's CASELEDGER_VIEWS_DSN), each node in the schema
    `[<schema_prefix>_]views_<code>` (docs/reporting-schema.md)."""

    dsn: str = ""
    schema_prefix: str = ""


@dataclass(frozen=True)
class KafkaSettings:
    """The broker the `kafka` feed uses; each node's topic starts with `topic_prefix`.

    Topics are created with `replication_factor` replicas, and a record is
    confirmed once `min_insync_replicas` of them hold it (by default
    min(2, replication_factor))."""

    bootstrap: tuple[Address, ...]
    topic_prefix: str = "caseledger"
    replication_factor: int = 1
    min_insync_replicas: int | None = None

    @property
    def in_sync(self) -> int:
        """The replicas that must hold a record before it is confirmed."""
        if self.min_insync_replicas is not None:
            return self.min_insync_replicas
        return min(2, self.replication_factor)


@dataclass(frozen=True)
class NodeSpec:
    """One node as the network file lists it; `code` is the 12-digit form."""

    code: str
    name: str
    level: Level
    address: Address
    store: StoreSpec
    feed: FeedKind
    data_dir: Path

    @property
    def division(self) -> DivisionCode:
        return DivisionCode(self.code)

    @property
    def prefix(self) -> str:
        """The jurisdiction prefix (`37`, `3701`, `370102`, `370102001`)."""
        return self.division.prefix

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


@dataclass(frozen=True)
class Network:
    """The nodes of one network, in file order, and the broker if any node uses Kafka.

    Build one with `caseledger.nodes.network.file.load_network`, which
    guarantees what the queries rely on: distinct codes and exactly one
    root that contains every other node.
    """

    name: str
    nodes: tuple[NodeSpec, ...]
    kafka: KafkaSettings | None = None
    source: str = "<string>"
    pki: Path = Path("var/pki")
    """The network CA's folder; its `ca.crl` is the revocation list every node reads."""
    insecure: bool = False
    audience: str = "caseledger"
    """The audience operators' tokens must name to be taken by this network's nodes."""
    views: ViewsSettings | None = None
    """None: every node keeps its views in a SQLite file of its own."""

    @property
    def identity_jwks(self) -> Path:
        """The identity provider's public keys (its JWKS), kept with the PKI."""
        return self.pki / "identity" / "identity-provider.jwks.json"

    @cached_property
    def _by_code(self) -> dict[str, NodeSpec]:
        return {node.code: node for node in self.nodes}

    @cached_property
    def _ancestors(self) -> dict[str, tuple[NodeSpec, ...]]:
        return {
            node.code: tuple(
                self._by_code[a.code] for a in node.division.ancestors() if a.code in self._by_code
            )
            for node in self.nodes
        }

    def node(self, code: str) -> NodeSpec:
        """The node named by a 12-digit or 6-digit code; `NodeNotListed` if none is."""
        full = code + "000000" if len(code) == 6 else code
        try:
            return self._by_code[full]
        except KeyError:
            raise NodeNotListed(code, self.name) from None

    def ancestors_of(self, code: str) -> tuple[NodeSpec, ...]:
        """The listed nodes above this one, nearest first, ending at the root."""
        return self._ancestors[self.node(code).code]

    def parent_of(self, code: str) -> NodeSpec | None:
        """The nearest listed ancestor; None for the root."""
        ancestors = self.ancestors_of(code)
        return ancestors[0] if ancestors else None

    def children_of(self, code: str) -> tuple[NodeSpec, ...]:
        """The listed nodes whose parent is this node, in file order."""
        parent = self.node(code)
        return tuple(n for n in self.nodes if self.parent_of(n.code) == parent)

    def subtree_of(self, code: str) -> tuple[NodeSpec, ...]:
        """Every other listed node inside this node's jurisdiction prefix, in file order."""
        top = self.node(code)
        return tuple(n for n in self.nodes if n.code != top.code and n.code.startswith(top.prefix))

    @cached_property
    def root(self) -> NodeSpec:
        """The one node with no listed ancestor (usually the province)."""
        roots = [n for n in self.nodes if not self._ancestors[n.code]]
        if len(roots) != 1:
            raise ValueError(f"network {self.name} has {len(roots)} roots, not exactly one")
        return roots[0]

    def to_node_config(self, code: str) -> NodeConfig:
        """What one node process needs to start: it listens on its listed address."""
        node = self.node(code)
        kafka = self.kafka if node.feed == "kafka" else None
        return NodeConfig(
            code=node.code,
            name=node.name,
            listen=str(node.address),
            data_dir=node.data_dir,
            store=node.store.kind,
            feed=node.feed,
            extra_env=node.store.persistence_env(),
            kafka_bootstrap=tuple(str(a) for a in kafka.bootstrap) if kafka else (),
            kafka_topic_prefix=kafka.topic_prefix if kafka else "caseledger",
            kafka_replication_factor=kafka.replication_factor if kafka else 1,
            kafka_min_insync_replicas=kafka.in_sync if kafka else 1,
            insecure=self.insecure,
            crl_file=self.pki / "ca.crl",
            identity_jwks=self.identity_jwks,
            identity_audience=self.audience,
            views_dsn=self.views.dsn if self.views else "",
            views_schema_prefix=self.views.schema_prefix if self.views else "",
        )
