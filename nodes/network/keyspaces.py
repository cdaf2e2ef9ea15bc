"""The Cassandra keyspaces of a network, dropped when a throwaway run is over.

The demo and the tests run a network on a Cassandra cluster that outlives
them; each run gives its keyspaces a prefix of its own (`run_copy`) and
drops them here afterwards, through the same settings the nodes used
(so CASELEDGER_CASSANDRA points both at the same cluster).
`python -m caseledger.nodes network drop-keyspaces FILE --yes` runs it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from eventsourcing.persistence import PersistenceError
from eventsourcing.utils import Environment

from caseledger.ledger.cassandra.session import SESSIONS
from caseledger.ledger.cassandra.settings import CassandraSettings
from caseledger.nodes.network.file import NetworkFileError, load_network
from caseledger.nodes.network.model import Network, NodeSpec

DROP_FAILED = 1
NOT_DROPPED = 2


@dataclass(frozen=True)
class NodeKeyspace:
    """A Cassandra node of the network and the settings of its store."""

    node: NodeSpec
    settings: CassandraSettings

    def __str__(self) -> str:
        points = ",".join(f"{p.host}:{p.port}" for p in self.settings.contact_points)
        return f"{self.settings.keyspace} at {points} (node {self.node})"


def keyspaces_of(network: Network, environ: Mapping[str, str] | None = None) -> list[NodeKeyspace]:
    """Every Cassandra node's keyspace, where that node would find it."""
    found = []
    for node in network.nodes:
        if node.store.kind != "cassandra":
            continue
        env = network.to_node_config(node.code).persistence_env(environ=environ)
        found.append(NodeKeyspace(node, CassandraSettings.from_env(Environment(env=env))))
    return found


def drop(keyspace: NodeKeyspace) -> None:
    """Drop the keyspace and every table in it; nothing if it is not there."""
    session = SESSIONS.acquire(keyspace.settings)
    try:
        session.schema(f"DROP KEYSPACE IF EXISTS {keyspace.settings.keyspace}")
    finally:
        SESSIONS.release(session)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="the network file")
    parser.add_argument(
        "--yes",
        action="store_true",
        help="really drop them (without it, only list what would be dropped)",
    )


def run(args: argparse.Namespace) -> int:
    """`network drop-keyspaces FILE [--yes]`; the process's exit status."""
    try:
        keyspaces = keyspaces_of(load_network(args.file))
    except (NetworkFileError, OSError) as error:
        print(f"caseledger network: {error}", file=sys.stderr)
        return NOT_DROPPED
    if not keyspaces:
        # `network up --store CODE=cassandra` moves nodes in the run's copy only.
        print(
            f"caseledger network: no node of {args.file} keeps its events in Cassandra; "
            "after `network up --store CODE=cassandra`, give the run's copy "
            "(<data>/network.yaml)",
            file=sys.stderr,
        )
        return NOT_DROPPED
    if not args.yes:
        for keyspace in keyspaces:
            print(f"would drop keyspace {keyspace}")
        print("caseledger network: give --yes to drop them", file=sys.stderr)
        return NOT_DROPPED
    status = 0
    for keyspace in keyspaces:
        try:
            drop(keyspace)
        except PersistenceError as error:
            print(f"caseledger network: could not drop {keyspace}: {error}", file=sys.stderr)
            status = DROP_FAILED
            continue
        print(f"dropped keyspace {keyspace}")
    return status
