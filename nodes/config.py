"""Node settings, and the one place that reads the environment.

A node is configured by a `NodeConfig`; the store is chosen by `store`
(`sqlite` by default, `memory` for throwaway runs, or `cassandra`, whose
cluster and keyspace come from the network file) and turned into the
settings of the `eventsourcing` persistence module here, never in code
elsewhere.

A node's views (docs/projections.md) are a SQLite file in its data folder
unless `views_dsn` names a PostgreSQL database (`postgresql://...`), where
they live in the schema `[<views_schema_prefix>_]views_<code>`
(docs/reporting-schema.md). `CASELEDGER_VIEWS_DSN` and `node serve
--views-dsn` put them there whatever the network file says.

`CASELEDGER_CASSANDRA=host:port[,host:port]` replaces the contact points
of every Cassandra store a process opens, whatever its network file says:
one network file then runs against the cluster of the machine at hand (a
developer's node on another port, the one CI started).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from caseledger.ledger.timelimits.calendar import WorkingCalendar
from caseledger.projections.location import ViewsLocation

CASSANDRA_ENV = "CASELEDGER_CASSANDRA"
VIEWS_DSN_ENV = "CASELEDGER_VIEWS_DSN"


@dataclass(frozen=True)
class NodeConfig:
    code: str
    listen: str = "127.0.0.1:0"
    data_dir: Path = Path("var")
    store: str = "sqlite"
    allow_client_time: bool = False
    calendar_file: Path | None = None
    metrics_port: int | None = None
    workers: int = 32
    failpoint: str = ""  # crash tests: the named point where the process dies
    extra_env: Mapping[str, str] = field(default_factory=dict)
    # From the network file: the division's name (for logs) and how the node
    # receives its subtree's events (`grpc` log streams or `kafka`).
    name: str = ""
    feed: str = "grpc"
    # For the `kafka` feed: the broker (`host:port`, ...), the topic prefix, and
    # how the node's topics are replicated (copies, and copies that must hold a
    # record before it counts as published).
    kafka_bootstrap: tuple[str, ...] = ()
    kafka_topic_prefix: str = "caseledger"
    kafka_replication_factor: int = 1
    kafka_min_insync_replicas: int = 1
    # Mutual TLS with the network PKI unless `insecure` (a local experiment, said
    # in the log): the node's key and certificate and the CA's certificate are in
    # `data_dir` (docs/trust.md); the revocation list is `crl_file`, by default
    # `ca.crl` in `data_dir`, reloaded whenever it changes.
    insecure: bool = False
    crl_file: Path | None = None
    # Operators' tokens (docs/identity.md): verified with the keys of `identity_jwks`
    # (the network's identity provider), for this audience and these issuers; the
    # role table is the default unless `role_file` overrides some roles.
    identity_jwks: Path | None = None
    identity_audience: str = "caseledger"
    identity_issuers: tuple[str, ...] = ("urn:caseledger:identity:development",)
    role_file: Path | None = None
    # The node sends its checkpoints with its events and witnesses its sources'
    # (docs/audit.md); off only for a test of a node that starts without.
    witness: bool = True
    # Where the views live: empty for the SQLite file `views_db` names, else the
    # PostgreSQL database of this DSN, in the node's own schema.
    views_dsn: str = ""
    views_schema_prefix: str = ""

    @property
    def event_db(self) -> Path:
        return self.data_dir / f"{self.code}.events.sqlite"

    @property
    def received_db(self) -> Path:
        return self.data_dir / f"{self.code}.received.sqlite"

    @property
    def published_db(self) -> Path:
        """Where the Kafka publisher records the last position it published."""
        return self.data_dir / f"{self.code}.published.sqlite"

    @property
    def views_db(self) -> ViewsLocation:
        """The node's views (docs/projections.md), whatever its event store: the
        SQLite file `<code>.views.sqlite`, or its schema of the database at `views_dsn`."""
        if not self.views_dsn:
            return ViewsLocation(str(self.data_dir / f"{self.code}.views.sqlite"))
        prefix = f"{self.views_schema_prefix}_" if self.views_schema_prefix else ""
        return ViewsLocation(self.views_dsn, f"{prefix}views_{self.code}")

    @property
    def key_db(self) -> Path:
        return self.data_dir / f"{self.code}.keys.sqlite"

    def persistence_env(
        self, database: Path | None = None, environ: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """The `eventsourcing` settings for this node's authored store (or, given
        `database`, for another store of the node such as its received events).
        A Cassandra store's contact points come from CASELEDGER_CASSANDRA when
        that is set (in `environ`, by default the process's environment)."""
        if self.store == "memory":
            env = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
        elif self.store == "sqlite":
            env = {
                # The library's SQLite store whose logs can be followed
                # (`subscribe`), which the node's views and feeds need.
                "PERSISTENCE_MODULE": "caseledger.ledger.sqlite.subscribing",
                "SQLITE_DBNAME": str(database or self.event_db),
                # A writer waits for the lock rather than failing under load.
                "SQLITE_LOCK_TIMEOUT": "10",
            }
        elif self.store == "cassandra":
            # One keyspace per node (the network file names it); the node's
            # stores share it, told apart by a table prefix named after the
            # store's file: none for its events, `received_`, `published_`.
            role = (database or self.event_db).name.split(".")[-2]
            env = {
                "PERSISTENCE_MODULE": "caseledger.ledger.cassandra",
                "CASSANDRA_CONTACT_POINTS": "127.0.0.1:9042",
                "CASSANDRA_KEYSPACE": f"caseledger_{self.code}",
                "CASSANDRA_TABLE_PREFIX": "" if role == "events" else f"{role}_",
            }
        else:
            raise ValueError(f"unknown store {self.store!r}: expected sqlite, memory or cassandra")
        env.update(self.extra_env)
        contact_points = env_defaults(environ).get(CASSANDRA_ENV, "").strip()
        if self.store == "cassandra" and contact_points:
            env["CASSANDRA_CONTACT_POINTS"] = contact_points
        return env

    @property
    def revocation_list(self) -> Path:
        return self.crl_file if self.crl_file is not None else self.data_dir / "ca.crl"

    def calendar(self) -> WorkingCalendar:
        if self.calendar_file is None:
            return WorkingCalendar()
        return WorkingCalendar.from_file(self.calendar_file)


def env_defaults(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Defaults for `caseledger node serve` options from CASELEDGER_* variables."""
    source = os.environ if environ is None else environ
    names = (
        "CASELEDGER_DATA_DIR",
        "CASELEDGER_LOG_FORMAT",
        "CASELEDGER_CALENDAR_FILE",
        "CASELEDGER_FAILPOINT",
        CASSANDRA_ENV,
        VIEWS_DSN_ENV,
    )
    return {name: source[name] for name in names if name in source}
