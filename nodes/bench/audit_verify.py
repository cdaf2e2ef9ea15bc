"""Benchmark P4: verifying a node's store offline, beside a bare scan of it.

    python -m caseledger.nodes.bench.audit_verify --events 100000 [--events 1000000] [--json FILE]

For each size, case trails (`projection_cases`' templates, copied under
fresh case ids with every hash and link recomputed, so that each copy
verifies) are written to a SQLite events file through the node's own
recorder, which keeps its Merkle tree; a checkpoint of the whole log is
signed. Then, in the same run and on the same file:

- baseline: a bare scan of the log's rows in position order and the SHA-256
  of each row's state, in Python;
- verify-store: `caseledger audit verify-store`'s check (`cli/audit/store`):
  every case event's canonical hash recomputed and its link checked, every
  leaf against the file's tree, the root against the signed checkpoint;
- the same without recomputing the canonical hashes (links, leaves, tree and
  checkpoint only: what the Merkle log alone proves), for comparison;
- proofs: `--proofs` inclusion proofs and as many consistency proofs, read
  from the tree and verified as the auditor's CLI does, beside the SHA-256
  of as many 65-byte inputs as their verification hashes; and checkpoint
  notes verified beside bare Ed25519 verifications of the same texts.

Rates are per second of wall time and of CPU time; ratios are against the
baseline of the same run. The table goes to stdout, with `--json PATH` the
figures to that file. Nothing here is a test: no figure is asserted.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import random
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any, cast
from unittest import mock

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteFactory

from caseledger.cli.audit import store as offline
from caseledger.cli.audit.checkpoint import VerifierKey, verify_note
from caseledger.cli.audit.merkle import consistent, included
from caseledger.ledger.application import CaseLedger
from caseledger.ledger.audit import merkle
from caseledger.ledger.audit.checkpoint import Checkpoint, origin_of
from caseledger.ledger.audit.identity import Identity
from caseledger.ledger.audit.log import MerkleLog
from caseledger.ledger.audit.recorders import authored_log_recorder
from caseledger.ledger.case.events import CaseEvent
from caseledger.ledger.personal.keystore import MemorySubjectKeyStore
from caseledger.ledger.personal.sealing import SubjectKeys
from caseledger.ledger.trail.canonical import GENESIS, digest
from caseledger.nodes.bench.projection_cases import NODE, template_trails

__all__ = ["main", "measure"]

_WRITE_BATCH = 5000


class _Clock:
    def __init__(self) -> None:
        self._wall = time.perf_counter()
        self._cpu = time.process_time()

    def read(self) -> tuple[float, float]:
        return time.perf_counter() - self._wall, time.process_time() - self._cpu


def _copies(events: int) -> Iterator[list[StoredEvent]]:
    """Template trails under fresh case ids, each hash and link recomputed."""
    ledger = CaseLedger(NODE, SubjectKeys(MemorySubjectKeyStore()))
    mapper = ledger.mapper
    templates = [
        [cast(CaseEvent, mapper.to_domain_event(stored)) for stored in trail]
        for trail in template_trails()
    ]
    left = events
    while left > 0:
        for template in templates:
            case_id = uuid.uuid4()
            prev = GENESIS
            copy = []
            for event in template[:left]:
                moved = dataclasses.replace(event, originator_id=case_id, prev_hash=prev, hash="")
                moved = dataclasses.replace(moved, hash=digest(moved.hashed_form()))
                prev = moved.hash
                copy.append(mapper.to_stored_event(moved))
            left -= len(copy)
            yield copy
            if left <= 0:
                return


def _fill(path: Path, events: int) -> MerkleLog:
    factory = SQLiteFactory(
        {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}
    )
    recorder = authored_log_recorder(factory)
    batch: list[StoredEvent] = []
    for trail in _copies(events):
        batch += trail
        if len(batch) >= _WRITE_BATCH:
            recorder.insert_events(batch)
            batch = []
    if batch:
        recorder.insert_events(batch)
    assert isinstance(recorder, MerkleLog)
    return recorder


def _scan_and_hash(path: Path) -> tuple[float, float]:
    clock = _Clock()
    with closing(sqlite3.connect(path)) as db:
        cursor = db.execute(
            "SELECT rowid, originator_id, originator_version, topic, state "
            "FROM stored_events ORDER BY rowid"
        )
        sha256 = hashlib.sha256
        while page := cursor.fetchmany(10_000):
            for row in page:
                sha256(row[4]).digest()
    return clock.read()


def _verify(path: Path, key: VerifierKey, note: str) -> tuple[tuple[float, float], int]:
    clock = _Clock()
    report = offline.verify_store(path, key, [("bench", note)])
    seconds = clock.read()
    if not report.verified:
        raise SystemExit(f"the benchmark's store does not verify: {report.findings[:3]}")
    return seconds, report.events_checked


def _verify_links_only(path: Path, key: VerifierKey, note: str) -> tuple[float, float]:
    """verify-store with the canonical recomputation left out (each event's
    stored hash taken as its own): the Merkle log's part of the work."""

    def stored_hash(
        case_id: str, version: int, topic: str, state: dict[str, Any], stored: bytes
    ) -> str:
        return str(state["hash"])

    with mock.patch.object(offline, "case_event_hash", stored_hash):
        return _verify(path, key, note)[0]


def _timed(work: Callable[[], object]) -> tuple[float, float]:
    clock = _Clock()
    work()
    return clock.read()


def _proofs(log: MerkleLog, size: int, count: int, key: VerifierKey, note: str) -> dict[str, Any]:
    rng = random.Random(4)
    with log.tree() as tree:
        root = merkle.root(tree, size)
        inclusion = []
        for _ in range(count):
            index = rng.randrange(size)
            leaf = tree.subtree(0, index)
            inclusion.append((leaf, index, merkle.inclusion_proof(tree, index, size)))
        consistency = []
        for _ in range(count):
            old = rng.randrange(1, size)
            old_root = merkle.root(tree, old)
            consistency.append((old, old_root, merkle.consistency_proof(tree, old, size)))
    hashes = sum(len(p) + 1 for _, _, p in inclusion)
    inputs = [bytes(65)] * hashes

    def verify_inclusion() -> None:
        for leaf, index, path in inclusion:
            assert included(leaf, index, size, path, root)

    def verify_consistency() -> None:
        for old, old_root, path in consistency:
            assert consistent(old, size, old_root, root, path)

    def bare_hashes() -> None:
        sha256 = hashlib.sha256
        for data in inputs:
            sha256(data).digest()

    def verify_notes() -> None:
        for _ in range(count):
            verify_note(note, key)

    text = note.rpartition("\n\n")[0].encode() + b"\n"
    public = key.public
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    signature_key = Ed25519PublicKey.from_public_bytes(public)
    signature = _raw_signature(note)

    def bare_signatures() -> None:
        for _ in range(count):
            signature_key.verify(signature, text)

    return {
        "proofs": count,
        "sha256_per_inclusion_proof": hashes / count,
        "inclusion": _timed(verify_inclusion),
        "consistency": _timed(verify_consistency),
        "bare_hashes": _timed(bare_hashes),
        "notes": _timed(verify_notes),
        "bare_signatures": _timed(bare_signatures),
    }


def _raw_signature(note: str) -> bytes:
    import base64

    line = note.rpartition("\n\n")[2].strip().split("\n")[0]
    return base64.b64decode(line.rpartition(" ")[2])[4:]


def measure(events: int, proofs: int, folder: Path) -> dict[str, Any]:
    path = folder / f"events-{events}.sqlite"
    log = _fill(path, events)
    with log.tree() as tree:
        size = tree.size
        root = merkle.root(tree, size)
    identity = Identity(origin_of(NODE), Ed25519PrivateKey.generate())
    note = identity.sign(Checkpoint(identity.name, size, root))
    key = VerifierKey(identity.name, identity.public)
    baseline = _scan_and_hash(path)
    verified, checked = _verify(path, key, note)
    links = _verify_links_only(path, key, note)
    figures: dict[str, Any] = {
        "events": checked,
        "baseline": baseline,
        "verify_store": verified,
        "verify_store_links_only": links,
    }
    figures.update(_proofs(log, size, proofs, key, note))
    return figures


def _rate(count: float, seconds: tuple[float, float]) -> tuple[float, float]:
    return count / seconds[0], count / max(seconds[1], 1e-9)


def _table(figures: dict[str, Any]) -> list[str]:
    events = figures["events"]
    base = _rate(events, figures["baseline"])
    rows = [
        f"P4 verify a stored log: {events} events",
        f"  {'':34} {'wall/s':>12} {'cpu/s':>12} {'ratio wall':>11} {'ratio cpu':>10}",
    ]
    for label, name in (
        ("scan + SHA-256 (baseline)", "baseline"),
        ("verify-store (full)", "verify_store"),
        ("verify-store, links/tree only", "verify_store_links_only"),
    ):
        rate = _rate(events, figures[name])
        rows.append(
            f"  {label:34} {rate[0]:>12,.0f} {rate[1]:>12,.0f} "
            f"{rate[0] / base[0]:>11.2f} {rate[1] / base[1]:>10.2f}"
        )
    count = figures["proofs"]
    hashes = count * figures["sha256_per_inclusion_proof"]
    bare = _rate(hashes, figures["bare_hashes"])
    rows.append(
        f"  proofs ({count} each; baseline: SHA-256 of {figures['sha256_per_inclusion_proof']:.1f}"
        " 65-byte inputs per inclusion proof)"
    )
    for label, name in (("inclusion proofs", "inclusion"), ("consistency proofs", "consistency")):
        rate = _rate(count, figures[name])
        rows.append(
            f"  {label:34} {rate[0]:>12,.0f} {rate[1]:>12,.0f} "
            f"{rate[0] * figures['sha256_per_inclusion_proof'] / bare[0]:>11.2f} "
            f"{rate[1] * figures['sha256_per_inclusion_proof'] / bare[1]:>10.2f}"
        )
    signatures = _rate(count, figures["bare_signatures"])
    notes = _rate(count, figures["notes"])
    rows.append(
        f"  {'checkpoint notes (vs bare Ed25519)':34} {notes[0]:>12,.0f} {notes[1]:>12,.0f} "
        f"{notes[0] / signatures[0]:>11.2f} {notes[1] / signatures[1]:>10.2f}"
    )
    return rows


def main(sizes: Sequence[int], proofs: int, json_path: Path | None) -> list[dict[str, Any]]:
    results = []
    with tempfile.TemporaryDirectory(prefix="caseledger-p4-") as folder:
        for events in sizes:
            figures = measure(events, proofs, Path(folder))
            results.append(figures)
            print("\n".join(_table(figures)), flush=True)
    if json_path is not None:
        json_path.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m caseledger.nodes.bench.audit_verify")
    parser.add_argument("--events", type=int, action="append", help="log size (repeatable)")
    parser.add_argument("--proofs", type=int, default=2000, help="proofs and notes verified")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()
    main(args.events or [100_000], args.proofs, args.json)
