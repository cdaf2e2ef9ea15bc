"""The node's Merkle log is kept with its own log, on SQLite and in memory:
every committed event is a leaf at its position, and nothing else is."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError

from caseledger.ledger.application import CaseLedger
from caseledger.ledger.audit import merkle
from caseledger.ledger.audit.leaves import event_leaf, leaf_data
from caseledger.ledger.audit.log import LogGap, MerkleLog
from caseledger.ledger.case.aggregate import Case
from caseledger.ledger.codes.vocabulary import CaseType, SubmissionChannel
from caseledger.ledger.personal.keystore import MemorySubjectKeyStore
from caseledger.ledger.personal.sealing import SubjectKeys
from tests.samples import LIXIA, Clock, applicant, food_licence_terms, material


def sqlite_env(path: Path) -> dict[str, str]:
    return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}


def open_ledger(env: dict[str, str] | None = None) -> CaseLedger:
    return CaseLedger(LIXIA, SubjectKeys(MemorySubjectKeyStore()), env=env)


@pytest.fixture(params=["sqlite", "memory"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> CaseLedger:
    env = sqlite_env(tmp_path / "events.sqlite") if request.param == "sqlite" else None
    app = open_ledger(env)
    app.publish_item(food_licence_terms())
    return app


def submit(ledger: CaseLedger, clock: Clock) -> Case:
    terms = food_licence_terms()
    outcome = ledger.submit(
        clock.ctx(),
        str(terms.implementation_code),
        SubmissionChannel.WINDOW,
        applicant(),
        [material()],
    )
    return ledger.case(outcome.case_id)


def accept(ledger: CaseLedger, clock: Clock, case: Case, notice: str) -> None:
    limits = food_licence_terms().limits
    ledger.execute(
        case.id, clock.ctx(), lambda c, x: c.accept(x, notice, CaseType.PROMISED, limits)
    )


def log_leaves(ledger: CaseLedger) -> list[bytes]:
    records = ledger.recorder.select_notifications(start=1, limit=10_000)
    assert [r.id for r in records] == list(range(1, len(records) + 1))
    return [event_leaf(r.topic, r.originator_id, r.originator_version, r.state) for r in records]


def log_of(ledger: CaseLedger) -> MerkleLog:
    assert isinstance(ledger.recorder, MerkleLog)
    return ledger.recorder


def test_every_event_of_the_log_is_a_leaf_at_its_position(ledger: CaseLedger) -> None:
    clock = Clock()
    for n in range(5):
        accept(ledger, clock, submit(ledger, clock), f"受〔2026〕{n}号")
    leaves = log_leaves(ledger)
    with log_of(ledger).tree() as tree:
        assert tree.size == len(leaves)
        for size in range(len(leaves) + 1):
            assert merkle.root(tree, size) == merkle.root(merkle.LeafList(leaves), size)


def test_a_case_event_leaf_is_its_canonical_hash(ledger: CaseLedger) -> None:
    case = submit(ledger, Clock())
    first = ledger.trail(case.id)[0]
    position = log_of(ledger).position_of(case.id, 1)
    assert position is not None
    record = ledger.recorder.select_notifications(start=position, limit=1)[0]
    assert leaf_data(record.topic, record.originator_id, 1, record.state) == bytes.fromhex(
        first.hash
    )
    with log_of(ledger).tree() as tree:
        assert tree.subtree(0, position - 1) == merkle.leaf_hash(bytes.fromhex(first.hash))


def test_a_refused_append_leaves_no_leaf(ledger: CaseLedger) -> None:
    clock = Clock()
    case = submit(ledger, clock)
    with log_of(ledger).tree() as tree:
        before = tree.size
    stale: Case = ledger.repository.get(case.id)
    assert stale is not case
    accept(ledger, clock, case, "受1号")
    # The same version again conflicts in the store and rolls back.
    limits = food_licence_terms().limits
    stale.accept(clock.ctx(), "受2号", CaseType.PROMISED, limits)
    with pytest.raises(IntegrityError):
        ledger.save(stale)
    with log_of(ledger).tree() as tree:
        assert tree.size == before + 1 == len(log_leaves(ledger))


def test_concurrent_appends_keep_the_tree_equal_to_the_log(ledger: CaseLedger) -> None:
    clock = Clock()
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(4):
                submit(ledger, clock)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    leaves = log_leaves(ledger)
    with log_of(ledger).tree() as tree:
        assert merkle.root(tree, tree.size) == merkle.root(merkle.LeafList(leaves), len(leaves))


def test_a_log_written_before_the_tree_is_taken_into_it_on_opening(tmp_path: Path) -> None:
    env = sqlite_env(tmp_path / "events.sqlite")
    app = open_ledger(env)
    app.publish_item(food_licence_terms())
    submit(app, Clock())
    expected = log_leaves(app)
    app.close()
    with sqlite3.connect(tmp_path / "events.sqlite") as conn:
        conn.execute("DROP TABLE merkle_subtrees")
    reopened = open_ledger(env)
    with log_of(reopened).tree() as tree:
        assert tree.size == len(expected)
        assert merkle.root(tree, tree.size) == merkle.root(merkle.LeafList(expected), len(expected))


def test_a_log_cut_behind_its_tree_refuses_appends(tmp_path: Path) -> None:
    env = sqlite_env(tmp_path / "events.sqlite")
    app = open_ledger(env)
    app.publish_item(food_licence_terms())
    clock = Clock()
    submit(app, clock)
    with sqlite3.connect(tmp_path / "events.sqlite") as conn:
        conn.execute(
            "DELETE FROM stored_events WHERE rowid = (SELECT MAX(rowid) FROM stored_events)"
        )
    with pytest.raises(LogGap):
        submit(app, clock)


def test_appending_reads_only_the_frontier(tmp_path: Path) -> None:
    """With the frontier cached, an append reads one row (the tree's size)."""
    env = sqlite_env(tmp_path / "events.sqlite")
    app = open_ledger(env)
    app.publish_item(food_licence_terms())
    clock = Clock()
    for _ in range(6):
        submit(app, clock)
    recorder: Any = app.recorder
    size, known = recorder._cached
    assert size == len(log_leaves(app))
    assert set(known) == set(merkle.frontier_positions(size))
