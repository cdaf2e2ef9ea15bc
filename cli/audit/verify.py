"""`caseledger audit verify NODE`: check a node's whole log against its signed checkpoint.

The node signs a checkpoint of its Merkle log now; its signature is checked
with the key given (`--key`, the node's `<code>.identity.pub`), or, without
one, with the key the node sends, printed to be kept (trust on first use).
Then the node's log is streamed and every leaf recomputed here from the
events (docs/audit.md), and the root compared with the checkpoint's. Where
they differ, the node's own proofs locate each event that is not what the
checkpoint committed to: a consistency proof per step of a binary search
finds the first, an inclusion proof checks each one after it. A position
the checkpoint covers and the log no longer holds is named as missing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import grpc
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from caseledger.cli.audit import merkle
from caseledger.cli.audit.checkpoint import (
    CheckpointRefused,
    SignedCheckpoint,
    VerifierKey,
    verify_note,
)
from caseledger.cli.audit.rotation import ROTATION_EVENT, carried
from caseledger.cli.connect import open_channel
from caseledger.cli.output import console, emit_json
from caseledger.cli.session import Session
from caseledger.v1 import audit_pb2, audit_pb2_grpc, log_pb2, log_pb2_grpc

DOES_NOT_VERIFY = 3
"""Exit code of `audit verify` when the log is not what the checkpoint commits to."""

CASE_EVENTS = "caseledger.case."
"""Stable names of case events begin so; their leaf data is their hash."""

MAX_NAMED = 1000
"""Inclusion checks made after the first differing event, at most."""


def leaf_data(topic: str, originator_id: str, version: int, state: bytes) -> bytes:
    """docs/audit.md: a case event's hash as 32 bytes; for any other event,
    SHA-256(name ‖ 0x00 ‖ id ‖ 0x00 ‖ version ‖ 0x00 ‖ state)."""
    if topic.startswith(CASE_EVENTS):
        value = json.loads(state)["hash"]
        digest = bytes.fromhex(value)
        if len(digest) != 32:
            raise ValueError("the event's hash is not 32 bytes")
        return digest
    return hashlib.sha256(
        topic.encode()
        + b"\0"
        + originator_id.encode()
        + b"\0"
        + str(version).encode()
        + b"\0"
        + state
    ).digest()


@dataclass(frozen=True)
class Finding:
    position: int
    problem: str
    record: log_pb2.LogRecord | None = None
    last: int = 0
    """Where a run of positions is meant, its last one."""

    def document(self) -> dict[str, Any]:
        event = None
        if self.record is not None:
            event = {
                "topic": self.record.topic,
                "originator_id": self.record.originator_id,
                "version": self.record.originator_version,
            }
        return {
            "position": self.position,
            "last_position": self.last or self.position,
            "event": event,
            "problem": self.problem,
        }

    def line(self) -> str:
        if self.position == 0:
            return self.problem
        where = f"position {self.position}"
        if self.last > self.position:
            where = f"positions {self.position}–{self.last}"
        if self.record is not None:
            name = self.record.topic.rsplit(".", 1)[-1]
            where += f" ({name} v{self.record.originator_version} of {self.record.originator_id})"
        return f"{where}: {self.problem}"


@dataclass
class LogReport:
    node: str
    checkpoint: SignedCheckpoint
    key: VerifierKey
    trusted_on_first_use: bool
    events_checked: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return not self.findings

    def document(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "origin": self.checkpoint.origin,
            "tree_size": self.checkpoint.size,
            "root_hash": self.checkpoint.root.hex(),
            "verifier_key": f"{self.key.name}+{self.key.key_id.hex()}",
            "trusted_on_first_use": self.trusted_on_first_use,
            "events_checked": self.events_checked,
            "verified": self.verified,
            "findings": [f.document() for f in self.findings],
            "checkpoint": self.checkpoint.note,
        }


def signed_checkpoint(
    stub: audit_pb2_grpc.AuditServiceStub, key: VerifierKey | None, timeout: float
) -> tuple[SignedCheckpoint, VerifierKey, bool]:
    """A checkpoint the node signs now, verified with `key` (or with the key
    it sends, trusted on first use); and the key used, and whether trusted so."""
    response = stub.GetCheckpoint(audit_pb2.GetCheckpointRequest(fresh=True), timeout=timeout)
    first_use = key is None
    used = key if key is not None else VerifierKey.parse(response.verifier_key)
    return verify_note(response.note, used), used, first_use


def _records(
    stub: log_pb2_grpc.LogServiceStub, size: int, timeout: float
) -> Iterator[log_pb2.LogRecord]:
    after = 0
    while after < size:
        batches = stub.StreamLog(
            log_pb2.StreamLogRequest(after=after, limit=size - after), timeout=timeout
        )
        got = False
        for batch in batches:
            for record in batch.records:
                if record.position > size:
                    return
                got = True
                after = record.position
                yield record
        if not got:
            return


def verify_log(
    channel: grpc.Channel, report: LogReport, timeout: float, progress: Progress | None = None
) -> None:
    size, root = report.checkpoint.size, report.checkpoint.root
    audit = audit_pb2_grpc.AuditServiceStub(channel)
    held: dict[int, log_pb2.LogRecord] = {}
    leaves: dict[int, bytes] = {}
    task = progress.add_task("reading the log", total=size) if progress is not None else None
    for record in _records(log_pb2_grpc.LogServiceStub(channel), size, timeout):
        if progress is not None and task is not None and record.position % 1000 == 0:
            progress.update(task, completed=record.position)
        held[record.position] = record
        try:
            leaves[record.position] = merkle.leaf_hash(
                leaf_data(
                    record.topic, record.originator_id, record.originator_version, record.state
                )
            )
        except (ValueError, KeyError, TypeError) as error:
            report.findings.append(
                Finding(record.position, f"the event cannot be read: {error}", record)
            )
    report.events_checked = len(held)
    report.findings.extend(_missing(held, size))
    for rotation in carried(report.checkpoint.note.partition("\n\n")[0]):
        logged = held.get(rotation.position)
        if logged is not None and (
            logged.topic != ROTATION_EVENT or logged.state != rotation.state
        ):
            problem = "not the key rotation the checkpoint carries for this position"
            report.findings.append(Finding(rotation.position, problem, logged))
    present = [leaves.get(p) for p in range(1, size + 1)]
    complete = [leaf for leaf in present if leaf is not None]
    if len(complete) == size and not report.findings and merkle.tree_head(complete) == root:
        return
    first = _first_difference(audit, present, report.checkpoint, timeout)
    checked = 0
    for position in range(first, size + 1):
        leaf = leaves.get(position)
        if leaf is None:
            continue
        if checked == MAX_NAMED:
            report.findings.append(
                Finding(position, f"not checked: {MAX_NAMED} events were checked one by one")
            )
            break
        checked += 1
        problem = _included(audit, position, leaf, report.checkpoint, timeout)
        if problem:
            report.findings.append(Finding(position, problem, held[position]))
    report.findings.sort(key=lambda f: f.position)
    if not report.findings:
        report.findings.append(
            Finding(
                0, "the log's root differs from the checkpoint's, yet no event was found to differ"
            )
        )


def _missing(held: dict[int, log_pb2.LogRecord], size: int) -> list[Finding]:
    findings = []
    position = 1
    while position <= size:
        if position in held:
            position += 1
            continue
        end = position
        while end + 1 <= size and end + 1 not in held:
            end += 1
        tail = " (the log ends early: its tail was cut)" if end == size else ""
        findings.append(
            Finding(
                position,
                f"missing from the log, which the checkpoint covers{tail}",
                last=end,
            )
        )
        position = end + 1
    return findings


def _first_difference(
    audit: audit_pb2_grpc.AuditServiceStub,
    present: list[bytes | None],
    checkpoint: SignedCheckpoint,
    timeout: float,
) -> int:
    """The first position whose prefix is not consistent with the checkpoint
    (binary search over consistency proofs; prefixes with a hole are not tried)."""
    good, bad = 0, next((i for i, leaf in enumerate(present) if leaf is None), len(present)) + 1
    bad = min(bad, len(present))
    while bad - good > 1:
        middle = (good + bad) // 2
        prefix = [leaf for leaf in present[:middle] if leaf is not None]
        proof = audit.GetConsistencyProof(
            audit_pb2.GetConsistencyProofRequest(first=middle, second=checkpoint.size),
            timeout=timeout,
        )
        if merkle.consistent(
            middle, checkpoint.size, merkle.tree_head(prefix), checkpoint.root, list(proof.path)
        ):
            good = middle
        else:
            bad = middle
    return good + 1


def _included(
    audit: audit_pb2_grpc.AuditServiceStub,
    position: int,
    leaf: bytes,
    checkpoint: SignedCheckpoint,
    timeout: float,
) -> str:
    """Why the event at `position` is not the checkpoint's leaf there; '' if it is."""
    proof = audit.GetInclusionProof(
        audit_pb2.GetInclusionProofRequest(position=position, tree_size=checkpoint.size),
        timeout=timeout,
    )
    path = list(proof.path)
    if merkle.included(leaf, position - 1, checkpoint.size, path, checkpoint.root):
        return ""
    if merkle.included(proof.leaf_hash, position - 1, checkpoint.size, path, checkpoint.root):
        return (
            "the event differs from the one the checkpoint committed to "
            f"(committed leaf {proof.leaf_hash.hex()[:16]}…, recomputed {leaf.hex()[:16]}…)"
        )
    return "the node's inclusion proof does not verify against its own checkpoint"


def _extends(
    audit: audit_pb2_grpc.AuditServiceStub, kept_file: Path, report: LogReport, timeout: float
) -> list[Finding]:
    """Whether the new checkpoint extends the one kept: one history, no fork."""
    try:
        kept = verify_note(kept_file.read_text(encoding="utf-8"), report.key)
    except (OSError, CheckpointRefused) as error:
        return [Finding(0, f"the kept checkpoint is refused: {error}")]
    new = report.checkpoint
    if kept.origin != new.origin:
        return [Finding(0, f"the kept checkpoint is of {kept.origin}, not {new.origin}")]
    if kept.size > new.size:
        return [Finding(0, f"the log shrank from {kept.size} to {new.size} leaves since kept")]
    proof = audit.GetConsistencyProof(
        audit_pb2.GetConsistencyProofRequest(first=kept.size, second=new.size), timeout=timeout
    )
    if merkle.consistent(kept.size, new.size, kept.root, new.root, list(proof.path)):
        return []
    return [
        Finding(
            0,
            f"the checkpoint of {new.size} does not extend the one of {kept.size} kept "
            "earlier: the history it signed was rewritten (a fork)",
        )
    ]


def read_key(path: Path | None) -> VerifierKey | None:
    if path is None:
        return None
    try:
        return VerifierKey.parse(path.read_text(encoding="utf-8"))
    except (OSError, CheckpointRefused) as error:
        raise click.BadParameter(str(error), param_hint="--key") from None


@click.command()
@click.argument("node_address", metavar="NODE")
@click.option(
    "--key",
    "key_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The node's verifier key (its <code>.identity.pub). Without it, the key the "
    "node sends is used and printed: keep it and pass it next time.",
)
@click.option(
    "--checkpoint",
    "kept_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A checkpoint of NODE kept from an earlier run: the new one must extend it "
    "(consistency proof). The new one is kept there once the log verifies.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report.")
@click.pass_obj
def verify(
    session: Session,
    node_address: str,
    key_file: Path | None,
    kept_file: Path | None,
    as_json: bool,
) -> None:
    """Check every event of NODE's log against a checkpoint it signs now.

    Exits 0 when the log is exactly what the signed checkpoint commits to,
    3 when the signature fails or any event is missing, changed or moved.
    """
    key = read_key(key_file)
    with open_channel(node_address) as channel:
        audit = audit_pb2_grpc.AuditServiceStub(channel)
        try:
            checkpoint, used, first_use = signed_checkpoint(audit, key, session.timeout)
        except CheckpointRefused as error:
            if as_json:
                emit_json(
                    {"node": node_address, "verified": False, "checkpoint_refused": str(error)}
                )
            else:
                console().print(
                    f"✗ checkpoint of {escape(node_address)} refused: {escape(str(error))}"
                )
            raise click.exceptions.Exit(DOES_NOT_VERIFY) from None
        report = LogReport(node_address, checkpoint, used, first_use)
        if kept_file is not None and kept_file.exists():
            report.findings.extend(_extends(audit, kept_file, report, session.timeout))
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=Console(stderr=True),
            transient=True,
            disable=as_json,
        ) as progress:
            verify_log(channel, report, session.timeout, progress)
    if kept_file is not None and report.verified:
        kept_file.write_text(checkpoint.note, encoding="utf-8")
    if as_json:
        emit_json(report.document())
    else:
        show(report)
    if not report.verified:
        raise click.exceptions.Exit(DOES_NOT_VERIFY)


def show(report: LogReport) -> None:
    out = console()
    checkpoint = report.checkpoint
    if report.trusted_on_first_use:
        out.print(
            "! the checkpoint's key was taken from the node (trust on first use); "
            "keep it and pass it with --key next time:"
        )
        out.print(f"  {escape(report.key.name)}+{report.key.key_id.hex()}+…")
    out.print(escape(checkpoint.note.rstrip("\n")))
    for finding in report.findings:
        out.print(f"  ✗ {escape(finding.line())}")
    if report.verified:
        out.print(
            f"✓ {report.events_checked} events of {escape(checkpoint.origin)} verified "
            f"against its signed checkpoint of {checkpoint.size}"
        )
    else:
        out.print(
            f"✗ the log of {escape(checkpoint.origin)} does not match its signed checkpoint: "
            f"{len(report.findings)} finding(s)"
        )
