"""`caseledger audit verify-store FILE`: a node's SQLite events file checked
offline, with nothing running and nothing but public keys (docs/audit.md,
"Verifying a store offline").

One pass over the log in position order (the table's rowid) checks:

- every position from 1 is there (a hole, or a tail cut below what a
  checkpoint or the file's own tree covers, is named);
- every case event: its `hash` is the SHA-256 of its canonical form
  (docs/canonical.md, recomputed from the stored state) and its `prev_hash`
  the hash of the case's event before it, versions running from 1;
- every key rotation is signed by the key in force, from `--key` on;
- its leaf (docs/audit.md, "Leaves") equals the leaf the file's own Merkle
  tree holds at that position (`merkle_subtrees`, level 0);
- the root over the leaves, at each checkpoint's size, equals the root the
  checkpoint signs; each checkpoint's signature verifies with `--key`
  (following the rotations it carries). Checkpoints come from `--checkpoint`
  files (as `audit verify --checkpoint` keeps them) and from a parent's
  witness store (`--witness-store`, its `<code>.witness.sqlite`).

Exit 0 when all of it holds, 3 when anything does not (each finding named
by its log position), 2 when the file is not a node's events file.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from caseledger.cli.audit.checkpoint import (
    CheckpointRefused,
    SignedCheckpoint,
    VerifierKey,
    verify_note,
)
from caseledger.cli.audit.merkle import interior, leaf_hash
from caseledger.cli.audit.rotation import (
    ROTATION_EVENT,
    RotationRefused,
    carried,
    follow,
    logged,
    public_of,
)
from caseledger.cli.audit.trail import GENESIS, canonical_json
from caseledger.cli.output import console, emit_json

VERIFIED = 0
DOES_NOT_VERIFY = 3
NOT_A_STORE = 2

CASE_EVENTS = "caseledger.case."
_PAGE = 10_000
MAX_FINDINGS = 1000
"""Findings named one by one, at most; the count of the rest is given."""


@dataclass(frozen=True)
class Finding:
    position: int
    problem: str
    event: str = ""

    def line(self) -> str:
        where = f"position {self.position}" if self.position else "the store"
        if self.event:
            where += f" ({self.event})"
        return f"{where}: {self.problem}"

    def document(self) -> dict[str, Any]:
        return {"position": self.position, "event": self.event, "problem": self.problem}


@dataclass
class StoreReport:
    path: str
    key: VerifierKey
    events_checked: int = 0
    log_size: int = 0
    tree_size: int = 0
    checkpoints: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    more_findings: int = 0

    @property
    def verified(self) -> bool:
        return not self.findings and not self.more_findings

    def find(self, finding: Finding) -> None:
        if len(self.findings) < MAX_FINDINGS:
            self.findings.append(finding)
        else:
            self.more_findings += 1

    def document(self) -> dict[str, Any]:
        return {
            "store": self.path,
            "verifier_key": f"{self.key.name}+{self.key.key_id.hex()}",
            "events_checked": self.events_checked,
            "log_size": self.log_size,
            "tree_size": self.tree_size,
            "checkpoints": self.checkpoints,
            "verified": self.verified,
            "findings": [f.document() for f in self.findings],
            "more_findings": self.more_findings,
        }


class NotAStore(Exception):
    """The file is not a node's SQLite events file."""


class _Frontier:
    """The RFC 6962 tree over the leaves appended so far, as its complete
    subtrees (a stack); the root at any moment in O(log n)."""

    def __init__(self) -> None:
        self.size = 0
        self._stack: list[tuple[int, bytes]] = []

    def append(self, leaf: bytes) -> None:
        width, value = 1, leaf
        stack = self._stack
        while stack and stack[-1][0] == width:
            left_width, left = stack.pop()
            width, value = left_width + width, interior(left, value)
        stack.append((width, value))
        self.size += 1

    def root(self) -> bytes:
        if not self._stack:
            return hashlib.sha256(b"").digest()
        value = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            value = interior(left, value)
        return value


def _utc_text(stamp: Any) -> str:
    """The `occurred_at` of the hashed form from the stored `timestamp`."""
    text = stamp["_data_"] if isinstance(stamp, dict) else stamp
    return datetime.fromisoformat(text).astimezone(UTC).isoformat(timespec="microseconds")


def _maybe_astral(stored: bytes) -> bool:
    """Whether the bytes may stand for a character beyond U+FFFF (a 4-byte
    UTF-8 sequence, or any escape): where sorting member names by code point
    (json's `sort_keys`) and by UTF-16 code units (RFC 8785) may differ."""
    return b"\\u" in stored or (bool(stored) and max(stored) >= 0xF0)


def _no_float(text: str) -> Any:
    raise ValueError(f"{text} is a float: an event holds none (docs/canonical.md)")


_DECODER = json.JSONDecoder(parse_float=_no_float)


def decoded_state(state: bytes) -> Any:
    """A stored state, decoded; a float in it is refused, as the canonical form refuses one."""
    return _DECODER.decode(state.decode("utf-8"))


def case_event_hash(
    case_id: str, version: int, topic: str, state: dict[str, Any], stored: bytes = b"\xf0"
) -> str:
    """docs/canonical.md: the SHA-256 of the canonical form of the hashed object,
    rebuilt from a stored case event (`state`, decoded from the bytes `stored`
    by `decoded_state`). Unless those bytes may hold a character beyond
    U+FFFF, json's own sorting by code point is RFC 8785's by UTF-16 code
    units, and much the faster."""
    hashed = {
        "case": case_id,
        "version": version,
        "type": topic[len(CASE_EVENTS) :],
        "occurred_at": _utc_text(state["timestamp"]),
        "node": state["node"],
        "operator": {"id": state["operator_id"], "role": state["operator_role"]},
        "request": {"id": state["request_id"], "digest": state["request_digest"]},
        "payload": state["payload"],
        "prev": state["prev_hash"],
    }
    if _maybe_astral(stored):
        return hashlib.sha256(canonical_json(hashed)).hexdigest()
    form = json.dumps(
        hashed, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    )
    return hashlib.sha256(form.encode("utf-8")).hexdigest()


class _Rotations:
    """The identity key in force, followed through the log's rotations."""

    def __init__(self, key: VerifierKey) -> None:
        self.name = key.name
        self.current = key.public
        self.started = False

    def follow(self, position: int, state: bytes) -> str:
        """'' when the rotation is signed by the key in force (its new key is
        then in force), else what is wrong with it."""
        try:
            rotation = logged(position, state)
            if not self.started and public_of(rotation.new_key) == self.current:
                self.started = True  # the key given came in with this rotation
                return ""
            self.started = True
            self.current = follow(self.name, self.current, rotation)
        except RotationRefused as error:
            return str(error)
        return ""


def _rows(db: sqlite3.Connection) -> Iterator[tuple[int, str, int, str, bytes]]:
    cursor = db.execute(
        "SELECT rowid, originator_id, originator_version, topic, state "
        "FROM stored_events ORDER BY rowid"
    )
    while page := cursor.fetchmany(_PAGE):
        yield from page


def _tree_leaves(db: sqlite3.Connection) -> Iterator[tuple[int, bytes]]:
    cursor = db.execute("SELECT idx, hash FROM merkle_subtrees WHERE level = 0 ORDER BY idx")
    while page := cursor.fetchmany(_PAGE):
        yield from page


def _open(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise NotAStore(f"{path} is not a file")
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as error:
        db.close()
        raise NotAStore(f"{path} is not an SQLite database: {error}") from None
    if "stored_events" not in tables:
        db.close()
        raise NotAStore(f"{path} holds no node log (no stored_events table)")
    return db


def _uuid_text(stored: str) -> str:
    return str(uuid.UUID(stored))


@dataclass
class _Expected:
    """A checkpoint to check the store against, its signature verified."""

    source: str
    checkpoint: SignedCheckpoint
    root: bytes | None = None


def verify_store(
    path: Path,
    key: VerifierKey,
    notes: list[tuple[str, str]],
    progress: Progress | None = None,
) -> StoreReport:
    """Check the events file at `path` against `key` and the checkpoint notes
    (source, note) given."""
    report = StoreReport(str(path), key)
    expected: list[_Expected] = []
    for source, note in notes:
        try:
            expected.append(_Expected(source, verify_note(note, key)))
        except CheckpointRefused as error:
            report.find(Finding(0, f"the checkpoint from {source} is refused: {error}"))
    with closing(_open(path)) as db:
        scan = _Scan(report, key, {e.checkpoint.size: e for e in expected})
        scan.run(db, progress)
    for each in expected:
        _check(report, each, report.log_size, scan.rotation_states)
    return report


class _Scan:
    """One pass over the log, in position order."""

    def __init__(self, report: StoreReport, key: VerifierKey, wanted: dict[int, _Expected]):
        self.report = report
        self.wanted = wanted
        self.frontier = _Frontier()
        self.cases: dict[str, tuple[int, str]] = {}
        self.rotations = _Rotations(key)
        self.rotation_states: dict[int, bytes] = {}
        if 0 in wanted:
            wanted[0].root = self.frontier.root()

    def run(self, db: sqlite3.Connection, progress: Progress | None) -> None:
        report = self.report
        has_tree = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='merkle_subtrees'"
        ).fetchone()
        total = db.execute("SELECT max(rowid) FROM stored_events").fetchone()[0] or 0
        task = progress.add_task("verifying", total=total) if progress is not None else None
        tree = _tree_leaves(db) if has_tree else iter(())
        held = next(tree, None)
        position = 0
        for rowid, originator, version, topic, stored in _rows(db):
            # A state edited with SQL text functions comes back as text.
            state = stored.encode() if isinstance(stored, str) else stored
            if rowid != position + 1:
                # Past a hole the tree cannot be rebuilt: what follows is
                # judged against the file's own tree, leaf by leaf.
                report.find(_gap(position + 1, rowid - 1, "missing from the log"))
            position = rowid
            report.events_checked += 1
            leaf = self.leaf(rowid, originator, version, topic, state)
            while held is not None and held[0] < rowid - 1:
                held = next(tree, None)
            if leaf is None:
                continue
            if held is not None and held[0] == rowid - 1 and bytes(held[1]) != leaf:
                problem = "the event differs from the leaf the store's tree committed to"
                report.find(Finding(rowid, problem, _event(topic, originator, version)))
            if self.frontier.size == rowid - 1:
                self.frontier.append(leaf)
                if rowid in self.wanted:
                    self.wanted[rowid].root = self.frontier.root()
            if progress is not None and task is not None and rowid % _PAGE == 0:
                progress.update(task, completed=rowid)
        report.log_size = position
        if has_tree:
            row = db.execute("SELECT count(*) FROM merkle_subtrees WHERE level = 0").fetchone()
            report.tree_size = int(row[0])
            if report.tree_size > position:
                problem = "in the store's tree but missing from the log: its tail was cut"
                report.find(_gap(position + 1, report.tree_size, problem))
        if progress is not None and task is not None:
            progress.update(task, completed=total)

    def leaf(
        self, rowid: int, originator: str, version: int, topic: str, state: bytes
    ) -> bytes | None:
        """The event's leaf, once its own checks are made; None if it has none."""
        try:
            case_id = _uuid_text(originator)
        except ValueError:
            self.report.find(Finding(rowid, f"the event's id {originator!r} is not a UUID"))
            return None
        if topic.startswith(CASE_EVENTS):
            return self.case_leaf(rowid, case_id, version, topic, state)
        if topic == ROTATION_EVENT:
            self.rotation_states[rowid] = state
            problem = self.rotations.follow(rowid, state)
            if problem:
                self.report.find(Finding(rowid, problem, _event(topic, case_id, version)))
        return leaf_hash(
            hashlib.sha256(
                b"\0".join((topic.encode(), case_id.encode(), str(version).encode(), state))
            ).digest()
        )

    def case_leaf(
        self, rowid: int, case_id: str, version: int, topic: str, state: bytes
    ) -> bytes | None:
        try:
            decoded = decoded_state(state)
            digest = bytes.fromhex(decoded["hash"])
            recomputed = case_event_hash(case_id, version, topic, decoded, state)
            prev = decoded["prev_hash"]
        except (ValueError, KeyError, TypeError) as error:
            self.report.find(
                Finding(
                    rowid, f"the event cannot be read: {error}", _event(topic, case_id, version)
                )
            )
            return None
        if len(digest) != 32:
            self.report.find(
                Finding(rowid, "the event's hash is not 32 bytes", _event(topic, case_id, version))
            )
            return None
        if recomputed != decoded["hash"]:
            self.report.find(
                Finding(
                    rowid,
                    "the event's hash is not that of its content",
                    _event(topic, case_id, version),
                )
            )
        last_version, last_hash = self.cases.get(case_id, (0, GENESIS))
        if version != last_version + 1:
            problem = f"version {version} follows version {last_version} of its case"
            self.report.find(Finding(rowid, problem, _event(topic, case_id, version)))
        elif prev != last_hash:
            problem = "its prev_hash is not the hash of the event before"
            self.report.find(Finding(rowid, problem, _event(topic, case_id, version)))
        self.cases[case_id] = (version, decoded["hash"])
        return leaf_hash(digest)


def _check(
    report: StoreReport, expected: _Expected, log_size: int, rotation_states: dict[int, bytes]
) -> None:
    checkpoint = expected.checkpoint
    entry: dict[str, Any] = {
        "source": expected.source,
        "tree_size": checkpoint.size,
        "root_hash": checkpoint.root.hex(),
    }
    report.checkpoints.append(entry)
    label = f"the checkpoint of size {checkpoint.size} ({expected.source})"
    if checkpoint.size > log_size:
        entry["verified"] = False
        problem = f"missing, though {label} covers them: the log's tail was cut"
        report.find(_gap(log_size + 1, checkpoint.size, problem))
        return
    try:
        text = checkpoint.note.partition("\n\n")[0]
        for rotation in carried(text):
            if rotation_states.get(rotation.position) != rotation.state:
                report.find(
                    Finding(rotation.position, f"not the key rotation {label} carries for it")
                )
    except RotationRefused as error:
        report.find(Finding(0, f"{label}: {error}"))
    entry["verified"] = expected.root == checkpoint.root
    if expected.root is None:
        report.find(Finding(0, f"{label} cannot be checked: a hole in the log comes before"))
    elif expected.root != checkpoint.root:
        report.find(
            Finding(
                0,
                f"the log's first {checkpoint.size} events are not those {label} signed: "
                "an event was changed, removed or moved",
            )
        )


def _gap(first: int, last: int, problem: str) -> Finding:
    if first == last:
        return Finding(first, problem)
    return Finding(first, f"positions {first}–{last}: {problem}")


def _event(topic: str, originator: str, version: int) -> str:
    return f"{topic.rpartition('.')[2]} v{version} of {originator}"


def witnessed_notes(path: Path, origin_code: str) -> list[tuple[str, str]]:
    """The checkpoint of node `origin_code` a witness store holds."""
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            rows = db.execute(
                "SELECT note FROM witnessed WHERE node = ?", (origin_code,)
            ).fetchall()
    except sqlite3.Error as error:
        raise click.BadParameter(f"{path}: {error}", param_hint="--witness-store") from None
    return [(f"witnessed in {path.name}", row[0]) for row in rows]


@click.command("verify-store")
@click.argument("store", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--key",
    "key_file",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The node's verifier key (its first <code>.identity.pub): rotations are followed.",
)
@click.option(
    "--checkpoint",
    "checkpoint_files",
    multiple=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A signed checkpoint of the node (a note, as `audit verify --checkpoint` keeps "
    "it); repeatable.",
)
@click.option(
    "--witness-store",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A parent's <code>.witness.sqlite: the node's checkpoint it witnessed is checked too.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report.")
def verify_store_command(
    store: Path,
    key_file: Path,
    checkpoint_files: tuple[Path, ...],
    witness_store: Path | None,
    as_json: bool,
) -> None:
    """Check a node's SQLite events file offline: every event's hash and link,
    its key rotations, its Merkle tree and the signed checkpoints given.

    Exits 0 when everything verifies, 3 when anything does not, 2 when STORE
    is not a node's events file.
    """
    try:
        key = VerifierKey.parse(key_file.read_text(encoding="utf-8"))
    except (OSError, CheckpointRefused) as error:
        raise click.BadParameter(str(error), param_hint="--key") from None
    notes = [(str(p), p.read_text(encoding="utf-8")) for p in checkpoint_files]
    if witness_store is not None:
        notes.extend(witnessed_notes(witness_store, key.name.rpartition("/")[2]))
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    try:
        with Progress(
            *columns, console=Console(stderr=True), transient=True, disable=as_json
        ) as progress:
            report = verify_store(store, key, notes, progress)
    except NotAStore as error:
        if as_json:
            emit_json({"store": str(store), "verified": False, "not_a_store": str(error)})
        else:
            console().print(f"✗ {escape(str(error))}")
        raise click.exceptions.Exit(NOT_A_STORE) from None
    if as_json:
        emit_json(report.document())
    else:
        _show(report)
    if not report.verified:
        raise click.exceptions.Exit(DOES_NOT_VERIFY)


def _show(report: StoreReport) -> None:
    out = console()
    for entry in report.checkpoints:
        mark = "✓" if entry.get("verified") else "✗"
        out.print(f"{mark} checkpoint of size {entry['tree_size']} ({escape(entry['source'])})")
    if report.verified:
        out.print(
            f"✓ {escape(report.path)}: {report.events_checked} events, every hash, link, "
            "rotation and leaf verified"
        )
        return
    out.print(f"✗ {escape(report.path)} does not verify:")
    for finding in report.findings:
        out.print(f"  {escape(finding.line())}")
    if report.more_findings:
        out.print(f"  … and {report.more_findings} more")
