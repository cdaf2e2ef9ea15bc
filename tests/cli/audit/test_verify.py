"""`audit verify` and `audit replay --proofs` against a real node whose SQLite
store was tampered with directly: a middle event deleted, the log's tail cut,
two events swapped, an event rewritten with every later hash recomputed.
Each is detected (exit 3) and named by its log position or case version."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import structlog
from eventsourcing.persistence import StoredEvent

from caseledger.ledger.audit.identity import public_file
from caseledger.ledger.case.events import CaseEvent
from caseledger.ledger.trail.canonical import digest
from caseledger.nodes.config import NodeConfig
from caseledger.nodes.service.server import RunningNode, start
from tests.cli.test_cli_end_to_end import Operator, item_file, submit
from tests.pki import secured
from tests.samples import LIXIA

__all__ = ["item_file"]  # a fixture shared with the end-to-end tests


@pytest.fixture
def node(tmp_path: Path) -> Iterator[RunningNode]:
    with structlog.testing.capture_logs():
        running = start(secured(NodeConfig(code=LIXIA, data_dir=tmp_path / "node")))
        yield running
        if not running.stopping.is_set():  # a test may have stopped it to restart
            running.stop(grace=0)


@dataclasses.dataclass
class Log:
    node: RunningNode
    run: Operator
    first: str  # a case: Submitted, Accepted, Withdrawn
    second: str  # another, after it: Submitted, Accepted, Withdrawn

    @property
    def key(self) -> str:
        return str(public_file(self.node.config.data_dir, LIXIA))

    def verify(self, *args: str) -> Any:
        return self.run("audit", "verify", self.node.address, "--key", self.key, *args)

    def report(self) -> dict[str, Any]:
        result = self.verify("--json")
        return dict(json.loads(result.stdout))

    def replay(self, case: str, *args: str) -> Any:
        return self.run("audit", "replay", case, "--proofs", "--key", self.key, *args)

    def rows(self) -> list[tuple[int, str, int, str, bytes]]:
        with sqlite3.connect(self.node.config.event_db) as conn:
            return conn.execute(
                "SELECT rowid, originator_id, originator_version, topic, state "
                "FROM stored_events ORDER BY rowid"
            ).fetchall()

    def position(self, case: str, version: int) -> int:
        case_id = self.run.json("case", "show", case)["case_id"].replace("-", "")
        return next(r[0] for r in self.rows() if r[1] == case_id and r[2] == version)

    def execute(self, statement: str, *params: Any) -> None:
        with sqlite3.connect(self.node.config.event_db) as conn:
            conn.execute(statement, params)


def a_case(run: Operator, notice: str) -> str:
    number = submit(run)
    run.ok("case", "accept", number, "--notice-no", notice)
    run.ok("case", "withdraw", number, "--reason", "申请人撤回")
    return number


@pytest.fixture
def log(node: RunningNode, item_file: Path) -> Log:
    run = Operator(node.address)
    run.ok("catalogue", "publish", str(item_file))
    first = a_case(run, "历下受字〔2026〕001号")
    second = a_case(run, "历下受字〔2026〕002号")
    return Log(node, run, first, second)


def problems(report: dict[str, Any]) -> dict[int, str]:
    return {f["position"]: f["problem"] for f in report["findings"]}


def test_an_untouched_log_verifies_with_its_published_key(log: Log) -> None:
    result = log.verify()
    assert result.exit_code == 0, result.output
    assert "verified against its signed checkpoint" in result.stdout
    report = log.report()
    assert report["verified"] is True
    assert report["trusted_on_first_use"] is False
    assert report["events_checked"] == report["tree_size"] == len(log.rows())
    assert report["checkpoint"].startswith("caseledger.example/370000000000/370102000000\n")
    assert log.replay(log.first).exit_code == 0


def test_without_a_key_the_node_key_is_trusted_on_first_use_and_printed(log: Log) -> None:
    result = log.run("audit", "verify", log.node.address)
    assert result.exit_code == 0, result.output
    assert "trust on first use" in result.stdout


def test_a_key_of_another_node_refuses_the_checkpoint(log: Log, tmp_path: Path) -> None:
    other = tmp_path / "other.pub"
    from caseledger.ledger.audit.identity import load_or_create

    other.write_text(load_or_create(tmp_path / "elsewhere", LIXIA).verifier_key)
    result = log.run("audit", "verify", log.node.address, "--key", str(other))
    assert result.exit_code == 3
    assert "refused" in result.stdout


def test_a_deleted_middle_event_is_named_by_its_position(log: Log) -> None:
    gone = log.position(log.first, 2)
    log.execute("DELETE FROM stored_events WHERE rowid = ?", gone)

    result = log.verify()
    assert result.exit_code == 3, result.output
    assert f"position {gone}: missing from the log" in result.stdout
    assert problems(log.report()).keys() == {gone}
    assert log.replay(log.first).exit_code == 3


def test_a_cut_tail_is_named_and_breaks_the_replay_of_a_case_that_still_links(log: Log) -> None:
    size = len(log.rows())
    log.execute("DELETE FROM stored_events WHERE rowid > ?", size - 2)

    result = log.verify()
    assert result.exit_code == 3, result.output
    assert f"positions {size - 1}–{size}: missing" in result.stdout
    assert "tail was cut" in result.stdout
    # The second case's trail still links (Submitted and its number claim
    # remain), but its node's log no longer reaches its signed checkpoint.
    replay = log.replay(log.second)
    assert replay.exit_code == 3, replay.output
    assert "the log's tail was cut" in replay.stdout


def test_two_swapped_events_are_both_named(log: Log) -> None:
    a, b = log.position(log.first, 2), log.position(log.second, 2)
    rows = {r[0]: r for r in log.rows()}
    log.execute("DELETE FROM stored_events WHERE rowid IN (?, ?)", a, b)
    for position, (_, originator, version, topic, state) in ((a, rows[b]), (b, rows[a])):
        log.execute(
            "INSERT INTO stored_events (rowid, originator_id, originator_version, topic, state) "
            "VALUES (?, ?, ?, ?, ?)",
            position, originator, version, topic, state,
        )  # fmt: skip

    result = log.verify()
    assert result.exit_code == 3, result.output
    found = problems(log.report())
    assert found.keys() == {a, b}
    assert all("differs from the one the checkpoint committed to" in p for p in found.values())
    # Each trail still links; the proofs show the events moved.
    replay = log.replay(log.first, "--json")
    assert replay.exit_code == 3, replay.output
    report = json.loads(replay.stdout)
    assert [e["version"] for e in report["inclusion"]["events"] if not e["ok"]] == [2]


def test_a_rewrite_with_every_later_hash_recomputed_is_named_event_by_event(log: Log) -> None:
    changed = rewrite(log, log.first)
    # The case's own chain still links: only the log's checkpoint tells.
    assert log.run("audit", "replay", log.first).exit_code == 0
    result = log.verify()
    assert result.exit_code == 3, result.output
    assert problems(log.report()).keys() == set(changed)
    replay = log.replay(log.first, "--json")
    assert replay.exit_code == 3
    report = json.loads(replay.stdout)
    assert [e["version"] for e in report["inclusion"]["events"] if not e["ok"]] == [2, 3]


def rewrite(log: Log, case: str) -> list[int]:
    """Change the notice number of the case's acceptance and recompute its hash
    and every later one, as someone who knows docs/canonical.md could; the
    log positions changed."""
    mapper = log.node.ledger.mapper
    case_id = UUID(log.run.json("case", "show", case)["case_id"])
    rows = [r for r in log.rows() if r[1] == case_id.hex]
    prev = None
    changed = []
    for rowid, _, version, topic, state in rows:
        event = mapper.to_domain_event(StoredEvent(case_id, version, topic, state))
        if not isinstance(event, CaseEvent):
            continue
        if version == 2:
            payload = {**event.payload, "notice_no": "历下受字〔2026〕999号"}
            event = dataclasses.replace(event, payload=payload)
        if version >= 2:
            assert prev is not None
            event = dataclasses.replace(event, prev_hash=prev)
            event = dataclasses.replace(event, hash=digest(event.hashed_form()))
            log.execute(
                "UPDATE stored_events SET state = ? WHERE rowid = ?",
                mapper.to_stored_event(event).state,
                rowid,
            )
            changed.append(rowid)
        prev = event.hash
    return changed


def test_a_history_rewritten_with_its_tree_is_a_fork_from_the_checkpoint_kept(
    log: Log, tmp_path: Path
) -> None:
    """Someone with the node's files rewrites an event, drops the tree and lets
    the node rebuild it from the rewritten log on restart: a fresh checkpoint
    then matches the log, but not the one the auditor kept."""
    kept = tmp_path / "kept.checkpoint"
    assert log.verify("--checkpoint", str(kept)).exit_code == 0
    assert kept.read_text().startswith("caseledger.example/")
    rewrite(log, log.first)
    log.node.stop(grace=0)
    log.execute("DROP TABLE merkle_subtrees")
    with structlog.testing.capture_logs():
        log.node = start(log.node.config)
        try:
            log.run = Operator(log.node.address)
            assert log.verify().exit_code == 0  # the new history agrees with itself
            result = log.verify("--checkpoint", str(kept))
        finally:
            log.node.stop(grace=0)
    assert result.exit_code == 3, result.output
    assert "was rewritten (a fork)" in result.stdout


def test_an_evidence_bundle_verifies_offline_and_a_changed_one_does_not(
    log: Log, tmp_path: Path
) -> None:
    bundle = tmp_path / "case.evidence.json"
    written = log.run("audit", "bundle", log.first, "--out", str(bundle))
    assert written.exit_code == 0, written.output
    log.node.stop(grace=0)  # nothing runs from here on

    checked = log.run("audit", "check-bundle", str(bundle), "--key", log.key)
    assert checked.exit_code == 0, checked.output
    assert "3 events, 3 proven included" in checked.stdout

    document = json.loads(bundle.read_text())
    document["proofs"][1]["leaf_index"] += 1
    moved = tmp_path / "moved.json"
    moved.write_text(json.dumps(document))
    refused = log.run("audit", "check-bundle", str(moved), "--key", log.key, "--json")
    assert refused.exit_code == 3
    assert json.loads(refused.stdout)["problems"] == [
        "event 2 is not proven included in the checkpoint of 370102000000"
    ]
