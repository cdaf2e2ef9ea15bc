"""The P6 harness runs end to end on both feeds: every event reaches the
province, and each row is reported beside the baseline of its feed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from caseledger.nodes.bench import province
from tests.nodes.replication.feeds import kafka_address

EVENTS_PER_SOURCE = 3


def _run(tmp_path: Path, feed: str, *extra: str) -> dict[str, object]:
    report = tmp_path / "p6.json"
    argv = ["--sources", "2,3", "--feed", feed, "--events-per-source", str(EVENTS_PER_SOURCE)]
    assert province.main([*argv, "--processes", "2", "--json", str(report), *extra]) == 0
    document: dict[str, object] = json.loads(report.read_text())
    return document


def _check(document: dict[str, object], feed: str) -> None:
    rows = document["rows"]
    assert isinstance(rows, list)
    # The same total at every count: 3 events apiece at the largest count.
    assert [(r["feed"], r["sources"], r["events"]) for r in rows] == [
        (feed, 2, 8),
        (feed, 3, 9),
    ]
    assert all(r["threads"] > 0 and r["rss_mb"] > 0 for r in rows)
    targets = document["targets"]
    assert isinstance(targets, list)
    assert [t["measure"] for t in targets] == [
        f"P6 per-event ingest CPU / at the fewest sources ({feed}, 3 / 2 sources)"
    ]


def test_the_province_harness_follows_simulated_townships_on_the_grpc_feed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _check(_run(tmp_path, "grpc"), "grpc")
    assert "× base" in capsys.readouterr().out


@pytest.mark.kafka
def test_the_province_harness_follows_simulated_townships_on_the_kafka_feed(
    tmp_path: Path,
) -> None:
    _check(_run(tmp_path, "kafka", "--kafka", kafka_address()), "kafka")
