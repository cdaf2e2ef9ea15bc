"""Poison isolation, through the real feeds: a case whose received trail breaks
is quarantined with its evidence, its later events are held, and the
source's other cases keep replicating.

Each test changes the source's SQLite store behind its back (the findings of
the issue "No input can break a node, a trail or replication"), on both feeds:

- finding 8: an event rewritten at its owner with every later hash
  recomputed, then a new event appended: the receiver quarantines the case at
  the new event, naming both hashes of the event before it, keeps its own
  (genuine) copy, and replication goes on; comparing the copies names the
  rewritten version;
- finding 9: an event deleted at its owner and a different one appended at
  its version: a conflict with both hashes, logged, never kept or dropped in
  silence.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, MutableMapping
from typing import Any

import pytest
import structlog
from grpc_health.v1 import health_pb2

from caseledger.ledger.trail.quarantine import Reason
from tests.nodes import tamper
from tests.nodes.replication.feeds import (
    FeedHarness,
    assert_trail_whole,
    drive_cases,
    wait_for,
)
from tests.nodes.replication.poison import (
    MAPPER,
    cli,
    health,
    quarantined,
    replace_event_three,
    sample_sum,
    steps,
    trail_versions,
)

NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVING = health_pb2.HealthCheckResponse.SERVING


@pytest.fixture
def store_kind() -> str:
    """The tampering is done on SQLite files."""
    return "sqlite"


@pytest.fixture
def logs() -> Iterator[list[MutableMapping[str, Any]]]:
    """What the nodes log meanwhile (and nothing of it on the CLI's stdout)."""
    with structlog.testing.capture_logs() as captured:
        yield captured


def test_a_rewritten_history_then_a_new_event_quarantines_the_case_and_replication_goes_on(
    harness: FeedHarness, logs: list[MutableMapping[str, Any]]
) -> None:
    number, _ = drive_cases(harness.source, 2)
    steps(harness.source, number, 2)  # versions 1..4
    wait_for(harness.caught_up, "the receiver to catch up")
    case_id = harness.source.ledger.resolve(number)
    harness.stop_source()
    rewritten = tamper.rewrite_with_hashes(
        harness.source.config.event_db, MAPPER, case_id, 2, lambda p: {**p, "notice_no": "受2号"}
    )
    harness.start_source()
    steps(harness.source, number, 1)  # version 5, chained to the rewritten version 4
    (later,) = drive_cases(harness.source, 1, publish=False)
    wait_for(harness.caught_up, "the receiver to take what came after the rewrite")

    assert_trail_whole(harness.receiver, later, versions=2)  # the other cases go on
    (entry,) = quarantined(harness.receiver)
    assert (entry.case, entry.version, entry.reason) == (str(case_id), 5, Reason.BROKEN_LINK)
    genuine, forged = rewritten[4]
    assert (entry.held_hash, entry.received_hash) == (genuine, forged)
    assert entry.held_events == 1
    assert any(
        line["event"] == "case quarantined"
        and line["log_level"] == "error"
        and line["held_hash"] == genuine
        and line["received_hash"] == forged
        for line in logs
    )
    # The receiver keeps the trail it verified, and still serves it whole.
    receiver = cli(harness.receiver)
    replay = receiver("audit", "replay", number)
    assert replay.exit_code == 0, replay.output
    assert f"✓ 4 events of case {number} verified" in replay.stdout
    # Where the two copies meet, the rewritten version is named.
    compared = receiver("audit", "replay", number, "--compare", harness.source.address)
    assert compared.exit_code == 3, compared.output
    assert "hold different copies of version 2" in compared.stdout
    assert "lacks version 5" in compared.stdout  # and the new event it holds apart


def test_an_event_deleted_and_appended_again_differently_is_a_conflict_with_both_hashes(
    harness: FeedHarness, logs: list[MutableMapping[str, Any]]
) -> None:
    replaced = replace_event_three(harness)

    assert_trail_whole(harness.receiver, replaced.later, versions=2)
    (entry,) = quarantined(harness.receiver)
    assert (entry.case, entry.version, entry.reason) == (str(replaced.case_id), 3, Reason.CONFLICT)
    assert (entry.held_hash, entry.received_hash) == (replaced.held_hash, replaced.new_hash)
    assert trail_versions(harness.receiver, replaced.number) == 3  # the first event 3 stays
    conflicts = [line for line in logs if line.get("reason") == "conflict"]
    assert conflicts
    assert conflicts[0]["held_hash"] == replaced.held_hash
    assert conflicts[0]["received_hash"] == replaced.new_hash
    compared = cli(harness.receiver)(
        "audit", "replay", replaced.number, "--compare", harness.source.address
    )
    assert compared.exit_code == 3, compared.output
    assert "hold different copies of version 3" in compared.stdout


def test_a_quarantined_case_is_listed_counted_and_flagged_by_health(
    harness: FeedHarness, logs: list[MutableMapping[str, Any]]
) -> None:
    assert health(harness.receiver) == SERVING
    replaced = replace_event_three(harness)

    assert health(harness.receiver) == NOT_SERVING
    assert health(harness.receiver, service="") == SERVING  # the node itself still serves
    assert health(harness.source) == SERVING
    assert sample_sum(harness.receiver, "caseledger_quarantined_cases", reason="conflict") == 1
    receiver = cli(harness.receiver)
    listed = receiver("audit", "quarantined")
    assert listed.exit_code == 0, listed.output
    assert str(replaced.case_id) in listed.stdout
    assert "conflict" in listed.stdout
    assert f"held here: {replaced.held_hash}" in listed.stdout
    assert f"received:  {replaced.new_hash}" in listed.stdout
    document = json.loads(receiver("audit", "quarantined", "--json").stdout)
    assert document["count"] == 1
    (case,) = document["quarantined"]
    assert case["case_id"] == str(replaced.case_id)
    assert (case["version"], case["reason"]) == (3, "conflict")
    assert (case["held_hash"], case["received_hash"]) == (replaced.held_hash, replaced.new_hash)
    assert case["first_seen"]
    assert "nothing is quarantined" in cli(harness.source)("audit", "quarantined").stdout


def test_later_events_of_a_quarantined_case_are_held_not_applied(
    harness: FeedHarness, logs: list[MutableMapping[str, Any]]
) -> None:
    replaced = replace_event_three(harness)
    steps(harness.source, replaced.number, 2)  # versions 4 and 5, after the new event 3
    (last,) = drive_cases(harness.source, 1, publish=False)
    wait_for(harness.caught_up, "the receiver to take the later events")

    assert_trail_whole(harness.receiver, last, versions=2)
    assert trail_versions(harness.receiver, replaced.number) == 3
    (entry,) = quarantined(harness.receiver)
    assert entry.held_events == 3  # the new event 3, then 4 and 5
