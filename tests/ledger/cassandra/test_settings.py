"""Settings of the Cassandra store: defaults, and every bad value named (no node needed)."""

from __future__ import annotations

import pytest
from eventsourcing.utils import Environment

from caseledger.ledger.cassandra.settings import CassandraSettings, Endpoint

REQUIRED = {"CASSANDRA_CONTACT_POINTS": "10.0.0.1,10.0.0.2:19042", "CASSANDRA_KEYSPACE": "ks"}


def read(**env: str) -> CassandraSettings:
    return CassandraSettings.from_env(Environment(env={**REQUIRED, **env}))


def test_the_defaults_are_those_documented() -> None:
    settings = read()
    assert settings.contact_points == (Endpoint("10.0.0.1", 9042), Endpoint("10.0.0.2", 19042))
    assert (settings.write_consistency, settings.read_consistency) == ("LOCAL_QUORUM",) * 2
    assert settings.serial_consistency == "LOCAL_SERIAL"
    assert settings.replication_factor == 1
    assert settings.local_dc == "datacenter1"
    assert settings.log_bucket_size == 10_000
    assert (settings.lease_seconds, settings.lease_wait) == (10, 15.0)
    assert settings.create_tables
    assert not settings.read_only
    assert settings.originator_id_type == "uuid"


def test_settings_under_the_application_name_win() -> None:
    env = Environment("Ledger", {**REQUIRED, "LEDGER_CASSANDRA_KEYSPACE": "ledger_ks"})
    assert CassandraSettings.from_env(env).keyspace == "ledger_ks"


def test_tables_are_named_with_the_keyspace_and_prefix() -> None:
    assert read(CASSANDRA_TABLE_PREFIX="received_").table("tracking") == "ks.received_tracking"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CASSANDRA_KEYSPACE", ""),
        ("CASSANDRA_KEYSPACE", "bad-name"),
        ("CASSANDRA_CONTACT_POINTS", ""),
        ("CASSANDRA_CONTACT_POINTS", "host:port"),
        ("CASSANDRA_CONTACT_POINTS", "host:70000"),
        ("CASSANDRA_REPLICATION_FACTOR", "0"),
        ("CASSANDRA_REPLICATION_FACTOR", "three"),
        ("CASSANDRA_WRITE_CONSISTENCY", "LOCAL_SERIAL"),
        ("CASSANDRA_SERIAL_CONSISTENCY", "QUORUM"),
        ("CASSANDRA_TABLE_PREFIX", "a.b"),
        ("CASSANDRA_LOG_BUCKET_SIZE", "0"),
        ("CASSANDRA_LEASE_SECONDS", "1"),
        ("ORIGINATOR_ID_TYPE", "int"),
    ],
)
def test_a_bad_setting_is_refused_by_name(name: str, value: str) -> None:
    with pytest.raises(OSError, match=name):
        read(**{name: value})


def test_consistency_levels_are_read_case_blind() -> None:
    settings = read(CASSANDRA_WRITE_CONSISTENCY="each_quorum", CASSANDRA_READ_CONSISTENCY="one")
    assert (settings.write_consistency, settings.read_consistency) == ("EACH_QUORUM", "ONE")
