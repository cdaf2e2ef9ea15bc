"""The keyspace and tables of one store, as CQL (docs/cassandra.md explains each).

Table names start with the store's prefix, so two stores of one node (its
authored events and its received events) share a keyspace without sharing
a table. Every statement is `IF NOT EXISTS`: creating is idempotent and
costs one round trip when the table is there.

Tables whose rows are written by lightweight transactions (the log's
buckets, the writer lease) are never written by plain writes, and the
reverse: mixing the two on one partition would void the Paxos guarantees.
"""

from __future__ import annotations

from caseledger.ledger.cassandra.session import CqlSession
from caseledger.ledger.cassandra.settings import CassandraSettings

STREAMS = "stored_events"
LOG = "notification_log"
WRITER = "log_writer"
PROGRESS = "log_progress"
TRACKING = "tracking"
MERKLE = "merkle_tree"


def keyspace_cql(settings: CassandraSettings) -> str:
    return (
        f"CREATE KEYSPACE IF NOT EXISTS {settings.keyspace} WITH replication = "
        f"{{'class': 'NetworkTopologyStrategy', "
        f"'{settings.local_dc}': {settings.replication_factor}}}"
    )


def stream_table_cql(settings: CassandraSettings, table: str) -> str:
    """Aggregate sequences (one partition per aggregate: a case's trail is small)."""
    return (
        f"CREATE TABLE IF NOT EXISTS {settings.table(table)} ("
        f"originator_id {settings.originator_id_type}, originator_version bigint, "
        "topic text, state blob, "
        "PRIMARY KEY (originator_id, originator_version))"
    )


def log_tables_cql(settings: CassandraSettings) -> list[str]:
    """The notification log and its writer's lease and progress hints."""
    return [
        # One partition per bucket of ids; each append batch lives wholly in
        # the bucket of its first id. `epoch` is the fencing token: every
        # append is conditional on it.
        f"CREATE TABLE IF NOT EXISTS {settings.table(LOG)} ("
        "bucket bigint, id bigint, epoch bigint static, "
        f"originator_id {settings.originator_id_type}, originator_version bigint, "
        "topic text, state blob, tracking_name text, tracking_id bigint, "
        "PRIMARY KEY (bucket, id))",
        # Lease of the single writer; written by lightweight transactions only.
        f"CREATE TABLE IF NOT EXISTS {settings.table(WRITER)} ("
        "log text PRIMARY KEY, epoch bigint, owner uuid, owner_info text)",
        # Hints that only ever lag the truth: where the tail is, what is applied.
        f"CREATE TABLE IF NOT EXISTS {settings.table(PROGRESS)} ("
        "log text PRIMARY KEY, bucket_size bigint, tail_bucket bigint, applied bigint)",
        # The log's Merkle tree (docs/audit.md), derived from the log: complete
        # subtrees (`s/<level>/<index>`: hash), each event's log position
        # (`p/<originator id>/<version>`: position) and the size it covers
        # (`size`: position). One row per key, written by plain writes only.
        f"CREATE TABLE IF NOT EXISTS {settings.table(MERKLE)} ("
        "key text PRIMARY KEY, hash blob, position bigint)",
    ]


def tracking_table_cql(settings: CassandraSettings) -> str:
    """One row per upstream application: the position processed so far."""
    return (
        f"CREATE TABLE IF NOT EXISTS {settings.table(TRACKING)} ("
        "application_name text PRIMARY KEY, notification_id bigint)"
    )


def create_keyspace(session: CqlSession, settings: CassandraSettings) -> None:
    session.schema(keyspace_cql(settings))


def create_tables(session: CqlSession, statements: list[str]) -> None:
    for cql in statements:
        session.schema(cql)


def truncate_cql(settings: CassandraSettings, tables: list[str]) -> list[str]:
    """Empty a store's tables (tests); the schema stays."""
    return [f"TRUNCATE {settings.table(table)}" for table in tables]


ALL_TABLES = [STREAMS, LOG, WRITER, PROGRESS, TRACKING, MERKLE]
