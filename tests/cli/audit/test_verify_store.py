"""`audit verify-store`: a node's SQLite events file checked offline with
nothing but its public key and signed checkpoints. Each tampering is
detected (exit 3) and named: a middle event deleted, the tail cut, a byte
changed, an event rewritten with every later hash recomputed (with the
file's own tree left, and with it rebuilt), a key rotation by a key not in
force; a file that is not a node's store exits 2."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from caseledger.cli.audit import store as store_module
from caseledger.cli.main import cli
from caseledger.ledger.application import CaseLedger
from caseledger.ledger.audit.identity import Identity, load_or_create, public_file, stage_next
from caseledger.ledger.audit.log import MerkleLog
from caseledger.ledger.audit.rotation import SigningKey
from caseledger.ledger.case.aggregate import Case
from caseledger.ledger.codes.vocabulary import CaseType, SubmissionChannel
from caseledger.ledger.personal.keystore import MemorySubjectKeyStore
from caseledger.ledger.personal.sealing import SubjectKeys
from caseledger.nodes.service.checkpoints import Checkpoints
from tests.nodes import tamper
from tests.samples import LIXIA, Clock, applicant, food_licence_terms, material


@dataclass
class Store:
    ledger: CaseLedger
    identity: Identity
    path: Path
    folder: Path
    cases: list[Case]

    @property
    def key(self) -> Path:
        return self.folder / "first.pub"

    def checkpoint(self) -> Path:
        """A checkpoint the node signs now, kept in a file."""
        log = self.ledger.recorder
        assert isinstance(log, MerkleLog)
        signer = Checkpoints(log, self.identity)
        signer.records_rotations_in(self.ledger)
        signer.rotate_staged()
        self.identity = signer.identity
        note = self.folder / f"checkpoint-{signer.tree_size()}.note"
        note.write_text(signer.fresh().note, encoding="utf-8")
        return note

    def verify(self, *args: str) -> Result:
        return CliRunner().invoke(
            cli, ["audit", "verify-store", str(self.path), "--key", str(self.key), *args]
        )

    def report(self, *args: str) -> dict[str, Any]:
        result = self.verify(*args, "--json")
        return dict(json.loads(result.stdout))

    def execute(self, statement: str, *params: Any) -> None:
        with contextlib.closing(sqlite3.connect(self.path)) as db, db:
            db.execute(statement, params)

    def size(self) -> int:
        with contextlib.closing(sqlite3.connect(self.path)) as db:
            return int(db.execute("SELECT max(rowid) FROM stored_events").fetchone()[0])

    def position(self, case: Case, version: int) -> int:
        with contextlib.closing(sqlite3.connect(self.path)) as db:
            row = db.execute(
                "SELECT rowid FROM stored_events WHERE originator_id = ? "
                "AND originator_version = ?",
                (case.id.hex, version),
            ).fetchone()
        return int(row[0])


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    path = tmp_path / "events.sqlite"
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}
    ledger = CaseLedger(LIXIA, SubjectKeys(MemorySubjectKeyStore()), env=env)
    identity = load_or_create(tmp_path, LIXIA)
    (tmp_path / "first.pub").write_text(public_file(tmp_path, LIXIA).read_text())
    ledger.publish_item(food_licence_terms())
    clock = Clock()
    cases = []
    limits = food_licence_terms().limits
    for n in range(3):
        outcome = ledger.submit(
            clock.ctx(),
            str(food_licence_terms().implementation_code),
            SubmissionChannel.WINDOW,
            applicant(),
            [material()],
        )
        notice = f"受〔2026〕{n}号"

        def accept(case: Case, ctx: Any, notice: str = notice) -> None:
            case.accept(ctx, notice, CaseType.PROMISED, limits)

        ledger.execute(outcome.case_id, clock.ctx(), accept)
        cases.append(ledger.case(outcome.case_id))
    yield Store(ledger, identity, path, tmp_path, cases)
    ledger.close()


def problems(report: dict[str, Any]) -> dict[int, str]:
    return {f["position"]: f["problem"] for f in report["findings"]}


def test_an_untouched_store_verifies_with_its_checkpoint(store: Store) -> None:
    note = store.checkpoint()
    result = store.verify("--checkpoint", str(note))
    assert result.exit_code == 0, result.output
    assert "every hash, link, rotation and leaf verified" in result.stdout
    report = store.report("--checkpoint", str(note))
    assert report["verified"] is True
    assert report["events_checked"] == report["log_size"] == report["tree_size"] == store.size()
    assert report["checkpoints"][0]["verified"] is True


def test_a_cut_tail_is_named_by_the_tree_and_by_the_checkpoint(store: Store) -> None:
    note = store.checkpoint()
    size = store.size()
    store.execute("DELETE FROM stored_events WHERE rowid > ?", size - 2)
    result = store.verify("--checkpoint", str(note))
    assert result.exit_code == 3, result.output
    assert f"positions {size - 1}–{size}: in the store's tree but missing" in result.stdout
    assert "tail was cut" in result.stdout
    # Without the tree, the checkpoint alone tells.
    store.execute("DROP TABLE merkle_subtrees")
    report = store.report("--checkpoint", str(note))
    assert report["verified"] is False
    (finding,) = report["findings"]
    assert finding["position"] == size - 1
    assert "the log's tail was cut" in finding["problem"]


def test_a_deleted_middle_event_is_named(store: Store) -> None:
    gone = store.position(store.cases[0], 2)
    store.execute("DELETE FROM stored_events WHERE rowid = ?", gone)
    result = store.verify()
    assert result.exit_code == 3, result.output
    assert problems(store.report()) == {gone: "missing from the log"}


def test_a_changed_byte_breaks_the_events_own_hash(store: Store) -> None:
    changed = store.position(store.cases[1], 2)
    store.execute(
        "UPDATE stored_events SET state = replace(state, '受〔2026〕1号', '受〔2026〕9号') "
        "WHERE rowid = ?",
        changed,
    )
    result = store.verify()
    assert result.exit_code == 3, result.output
    assert problems(store.report()) == {changed: "the event's hash is not that of its content"}


def test_a_rewrite_with_every_later_hash_recomputed_is_named(store: Store) -> None:
    note = store.checkpoint()
    case = store.cases[0]
    store.ledger.close()
    # The submission's channel changed, its hash and the acceptance's link
    # and hash recomputed: the case's chain still links.
    tamper.rewrite_with_hashes(
        store.path, store.ledger.mapper, case.id, 1, lambda p: {**p, "channel": "2"}
    )
    rewritten = {store.position(case, 1), store.position(case, 2)}
    report = store.report("--checkpoint", str(note))
    assert report["verified"] is False
    found = problems(report)
    # The file's own tree names each rewritten event; the signed checkpoint
    # refuses the whole.
    assert {p for p in found if p} == rewritten
    for position in rewritten:
        assert "differs from the leaf the store's tree committed to" in found[position]
    assert "are not those the checkpoint of size" in found[0]


def test_a_rewrite_with_the_tree_rebuilt_is_caught_by_the_checkpoint(store: Store) -> None:
    note = store.checkpoint()
    case = store.cases[2]
    store.ledger.close()
    _rewrite_notice(store, case)
    store.execute("DROP TABLE merkle_subtrees")
    result = store.verify("--checkpoint", str(note))
    assert result.exit_code == 3, result.output
    assert "an event was changed, removed or moved" in result.stdout
    # Without a checkpoint the rewrite holds together: only a signature pins it.
    assert store.verify().exit_code == 0


def test_a_rotation_in_the_log_is_followed_from_the_first_key(store: Store) -> None:
    stage_next(store.folder, LIXIA)
    note = store.checkpoint()  # rotates: the note is signed by the new key
    assert store.identity.verifier_key != store.key.read_text().strip()
    result = store.verify("--checkpoint", str(note))
    assert result.exit_code == 0, result.output


def test_a_rotation_not_signed_by_the_key_in_force_is_flagged(store: Store) -> None:
    thief, stolen = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    store.ledger.save(SigningKey.rotate(LIXIA, store.identity.name, thief, stolen))
    result = store.verify()
    assert result.exit_code == 3, result.output
    found = problems(store.report())
    assert found.keys() == {store.size()}
    assert "not from the key in force" in found[store.size()]


def test_a_checkpoint_signed_by_another_key_is_refused(store: Store, tmp_path: Path) -> None:
    note = store.checkpoint()
    store.key.write_text(load_or_create(tmp_path / "elsewhere", LIXIA).verifier_key)
    result = store.verify("--checkpoint", str(note))
    assert result.exit_code == 3, result.output
    assert "is refused" in result.stdout


def test_a_file_that_is_no_store_exits_2(store: Store, tmp_path: Path) -> None:
    other = tmp_path / "not-a-store.sqlite"
    other.write_bytes(b"not a database at all")
    result = CliRunner().invoke(cli, ["audit", "verify-store", str(other), "--key", str(store.key)])
    assert result.exit_code == 2, result.output
    assert "is not an SQLite database" in result.stdout


def _rewrite_notice(store: Store, case: Case) -> None:
    """Version 2's notice number changed, its hash recomputed, as someone who
    knows docs/canonical.md could (the case has no later event)."""
    tamper.rewrite_with_hashes(
        store.path,
        store.ledger.mapper,
        case.id,
        2,
        lambda p: {**p, "notice_no": "受〔2026〕99号"},
    )


def test_the_fast_canonical_form_is_rfc_8785_where_it_is_taken() -> None:
    """json's sorting by code point stands in for RFC 8785's by UTF-16 code
    units only where no character beyond U+FFFF may be in the state."""
    state = {
        "timestamp": "2026-03-02T01:00:00+00:00",
        "node": LIXIA,
        "operator_id": "op",
        "operator_role": "window_clerk",
        "request_id": "r",
        "request_digest": "d",
        "payload": {"b": 1, "a": ["x", {"z": None, "é": True}], "\U0001f600": "", "\uff01": ""},
        "prev_hash": "0" * 64,
    }
    case = "18279aff-a63b-5b8b-a97f-784e3d5254f2"

    def digest_of(stored: bytes) -> str:
        return store_module.case_event_hash(case, 1, "caseledger.case.Submitted", state, stored)

    # With the astral name the orders differ: the check takes the exact path.
    assert digest_of(json.dumps(state, ensure_ascii=False).encode()) == digest_of(b"\xf0")
    del state["payload"]["\U0001f600"]  # type: ignore[attr-defined]
    assert digest_of(json.dumps(state, ensure_ascii=False).encode()) == digest_of(b"\xf0")
