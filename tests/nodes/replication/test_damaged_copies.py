"""Events deleted from a node's store (finding 7): the node no longer serves a
shorter trail as if it were whole.

- A middle event deleted: every read of the case at that node is DATA_LOSS
  naming the missing version; `audit replay` exits 3 naming it, and so does
  `case show`.
- The last events deleted: nothing at that node can tell, so its own replay
  still verifies what is left; comparing its copy with an ancestor's, which
  still holds the whole trail, names the node and the first version it lacks.

On both feeds; the township's SQLite store is the one changed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import structlog

from tests.nodes import tamper
from tests.nodes.replication.feeds import FeedHarness, drive_cases, wait_for
from tests.nodes.replication.poison import cli, steps, trail_versions


@pytest.fixture
def store_kind() -> str:
    """The tampering is done on SQLite files."""
    return "sqlite"


@pytest.fixture(autouse=True)
def quiet() -> Iterator[None]:
    """The nodes' log lines stay out of the CLI's captured stdout."""
    with structlog.testing.capture_logs():
        yield


def four_events_everywhere(harness: FeedHarness) -> str:
    (number,) = drive_cases(harness.source, 1)
    steps(harness.source, number, 2)
    drive_cases(harness.source, 1, publish=False)  # the case's events are not the log's tail
    wait_for(harness.caught_up, "the receiver to catch up")
    assert trail_versions(harness.receiver, number) == 4
    return number


def test_a_middle_event_deleted_makes_every_read_name_the_missing_version(
    harness: FeedHarness,
) -> None:
    number = four_events_everywhere(harness)
    case_id = harness.source.ledger.resolve(number)

    tamper.delete_event(harness.source.config.event_db, case_id, 2)

    township = cli(harness.source)
    replay = township("audit", "replay", number)
    assert replay.exit_code == 3, replay.output
    assert f"version 2 is missing from the node's copy of case {case_id}" in replay.stdout
    report = json.loads(township("audit", "replay", number, "--json").stdout)
    assert report["verified"] is False
    assert (report["damaged"]["version"], report["damaged"]["damage"]) == (2, "missing")
    shown = township("case", "show", number)
    assert shown.exit_code == 3, shown.output
    assert "a version is missing" in shown.output
    assert f"version 2 of case {case_id}" in shown.output
    assert cli(harness.receiver)("audit", "replay", number).exit_code == 0  # the county's is whole


def test_the_last_events_deleted_are_found_by_comparing_with_an_ancestor(
    harness: FeedHarness,
) -> None:
    number = four_events_everywhere(harness)
    case_id = harness.source.ledger.resolve(number)
    harness.stop_source()
    tamper.delete_event(harness.source.config.event_db, case_id, 4)
    tamper.delete_event(harness.source.config.event_db, case_id, 3)
    harness.start_source()

    township = cli(harness.source)
    assert township("audit", "replay", number).exit_code == 0  # what is left verifies
    compared = township("audit", "replay", number, "--compare", harness.receiver.address)
    assert compared.exit_code == 3, compared.output
    assert (
        f"{harness.source.address} holds 2 events of the case and "
        f"{harness.receiver.address} holds 4: {harness.source.address} lacks versions 3..4"
    ) in compared.stdout
    report = json.loads(
        township("audit", "replay", number, "--json", "--compare", harness.receiver.address).stdout
    )
    assert report["verified"] is False
    assert [(d["node"], d["version"]) for d in report["differences"]] == [
        (harness.source.address, 3)
    ]
