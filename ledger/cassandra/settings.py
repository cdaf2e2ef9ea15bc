"""Settings of the Cassandra persistence module, read from the application's environment.

The factory (`caseledger.ledger.cassandra`) reads them once, here, and
passes them on; nothing else looks at the environment. Every name, its
default and why it is the default is listed in docs/cassandra.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, TypeVar

from eventsourcing.utils import Environment, strtobool

CONTACT_POINTS = "CASSANDRA_CONTACT_POINTS"
KEYSPACE = "CASSANDRA_KEYSPACE"
REPLICATION_FACTOR = "CASSANDRA_REPLICATION_FACTOR"
LOCAL_DC = "CASSANDRA_LOCAL_DC"
WRITE_CONSISTENCY = "CASSANDRA_WRITE_CONSISTENCY"
READ_CONSISTENCY = "CASSANDRA_READ_CONSISTENCY"
SERIAL_CONSISTENCY = "CASSANDRA_SERIAL_CONSISTENCY"
TABLE_PREFIX = "CASSANDRA_TABLE_PREFIX"
LOG_BUCKET_SIZE = "CASSANDRA_LOG_BUCKET_SIZE"
LEASE_SECONDS = "CASSANDRA_LEASE_SECONDS"
LEASE_WAIT = "CASSANDRA_LEASE_WAIT"
REQUEST_TIMEOUT = "CASSANDRA_REQUEST_TIMEOUT"
READ_ONLY = "CASSANDRA_READ_ONLY"
# The library's own names, kept so settings move between backends unchanged.
CREATE_TABLE = "CREATE_TABLE"
ORIGINATOR_ID_TYPE = "ORIGINATOR_ID_TYPE"

DEFAULT_PORT = 9042
CONSISTENCY_LEVELS = frozenset(
    {"ONE", "TWO", "THREE", "QUORUM", "ALL", "LOCAL_QUORUM", "EACH_QUORUM", "LOCAL_ONE"}
)
SERIAL_LEVELS = frozenset({"SERIAL", "LOCAL_SERIAL"})
# Cassandra names: letters, digits and underscores, at most 48 characters.
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,47}")
_PREFIX = re.compile(r"[A-Za-z0-9_]{0,24}")
_N = TypeVar("_N", int, float)


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int


@dataclass(frozen=True)
class CassandraSettings:
    """Where the store is and how it reads and writes; defaults in docs/cassandra.md."""

    contact_points: tuple[Endpoint, ...]
    keyspace: str
    replication_factor: int = 1
    local_dc: str = "datacenter1"
    write_consistency: str = "LOCAL_QUORUM"
    read_consistency: str = "LOCAL_QUORUM"
    serial_consistency: str = "LOCAL_SERIAL"
    table_prefix: str = ""
    log_bucket_size: int = 10_000
    lease_seconds: int = 10
    lease_wait: float = 15.0
    request_timeout: float = 10.0
    read_only: bool = False
    create_tables: bool = True
    originator_id_type: Literal["uuid", "text"] = "uuid"

    def table(self, name: str) -> str:
        """A table's qualified name: keyspace, then the prefix of this store's tables."""
        return f"{self.keyspace}.{self.table_prefix}{name}"

    @property
    def cluster_key(self) -> tuple[object, ...]:
        """What makes two settings share one driver session."""
        return (
            self.contact_points,
            self.local_dc,
            self.write_consistency,
            self.read_consistency,
            self.serial_consistency,
            self.request_timeout,
        )

    @classmethod
    def from_env(cls, env: Environment) -> CassandraSettings:
        """Read and check every setting; OSError names the variable that is wrong."""
        keyspace = _required(env, KEYSPACE)
        if not _IDENTIFIER.fullmatch(keyspace):
            raise OSError(f"{KEYSPACE}={keyspace!r}: letters, digits, '_', at most 48")
        prefix = env.get(TABLE_PREFIX, "")
        if not _PREFIX.fullmatch(prefix):
            raise OSError(f"{TABLE_PREFIX}={prefix!r}: letters, digits, '_', at most 24")
        id_type = env.get(ORIGINATOR_ID_TYPE, "uuid").lower()
        if id_type not in ("uuid", "text"):
            raise OSError(f"{ORIGINATOR_ID_TYPE}={id_type!r}: expected 'uuid' or 'text'")
        return cls(
            contact_points=parse_contact_points(_required(env, CONTACT_POINTS)),
            keyspace=keyspace,
            replication_factor=_number(env, REPLICATION_FACTOR, 1, int, minimum=1),
            local_dc=env.get(LOCAL_DC, "datacenter1"),
            write_consistency=_level(env, WRITE_CONSISTENCY, "LOCAL_QUORUM", CONSISTENCY_LEVELS),
            read_consistency=_level(env, READ_CONSISTENCY, "LOCAL_QUORUM", CONSISTENCY_LEVELS),
            serial_consistency=_level(env, SERIAL_CONSISTENCY, "LOCAL_SERIAL", SERIAL_LEVELS),
            table_prefix=prefix,
            log_bucket_size=_number(env, LOG_BUCKET_SIZE, 10_000, int, minimum=1),
            lease_seconds=_number(env, LEASE_SECONDS, 10, int, minimum=2),
            lease_wait=_number(env, LEASE_WAIT, 15.0, float, minimum=0),
            request_timeout=_number(env, REQUEST_TIMEOUT, 10.0, float, minimum=0.1),
            read_only=bool(strtobool(env.get(READ_ONLY, "no") or "no")),
            create_tables=bool(strtobool(env.get(CREATE_TABLE, "yes") or "yes")),
            originator_id_type="uuid" if id_type == "uuid" else "text",
        )


def parse_contact_points(text: str) -> tuple[Endpoint, ...]:
    """`host[:port],host[:port]`; the port defaults to 9042."""
    points = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        host, colon, port = part.rpartition(":")
        if not colon:
            host, port = part, str(DEFAULT_PORT)
        host = host.strip("[]")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise OSError(f"{CONTACT_POINTS}: {part!r} is not host[:port]")
        points.append(Endpoint(host, int(port)))
    if not points:
        raise OSError(f"{CONTACT_POINTS} names no host")
    return tuple(points)


def _required(env: Environment, key: str) -> str:
    value = (env.get(key) or "").strip()
    if not value:
        raise OSError(
            f"Cassandra setting not found in environment with keys: "
            f"{', '.join(env.create_keys(key))}"
        )
    return value


def _level(env: Environment, key: str, default: str, allowed: frozenset[str]) -> str:
    value = (env.get(key) or default).strip().upper()
    if value not in allowed:
        raise OSError(f"{key}={value!r}: expected one of {', '.join(sorted(allowed))}")
    return value


def _number(env: Environment, key: str, default: _N, kind: type[_N], minimum: _N) -> _N:
    text = (env.get(key) or "").strip()
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        raise OSError(f"{key}={text!r} is not a number") from None
    if value < minimum:
        raise OSError(f"{key}={text!r}: at least {minimum}")
    return value
