"""Checking a case's events against the signed checkpoints of the nodes that
authored them, for `caseledger audit replay`.

An authoring node signs a checkpoint of its log now (verified with `--key`,
or trusted on first use), and proves each of the case's events it authored
included in it: the leaf is recomputed here from the event's hash
(docs/audit.md), so an event deleted, moved, or rewritten with its hash and
every later one recomputed is named, though its chain still links. The
node's log must also still reach the checkpoint's size: a cut tail is named.
Events authored at nodes the auditor gave no address for are listed as
unchecked, not as failures.

With `--witness CODE=HOST:PORT`, CODE's events are proven in the latest
checkpoint of CODE that the node at HOST:PORT (an ancestor) witnessed
instead: the author's signature and the witness's cosignature are both
checked, and an event after that checkpoint is listed as not witnessed yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import grpc
from rich.markup import escape

from caseledger.cli.audit import merkle
from caseledger.cli.audit.checkpoint import (
    CheckpointRefused,
    SignedCheckpoint,
    VerifierKey,
    verify_note,
)
from caseledger.cli.audit.witnessed import witnessed_checkpoint
from caseledger.cli.connect import open_channel
from caseledger.cli.output import console
from caseledger.v1 import audit_pb2, audit_pb2_grpc, ledger_pb2, log_pb2, log_pb2_grpc


@dataclass(frozen=True)
class EventInclusion:
    version: int
    node: str
    position: int
    problem: str

    @property
    def ok(self) -> bool:
        return not self.problem


@dataclass
class NodeCheckpoint:
    code: str
    address: str
    checkpoint: SignedCheckpoint | None = None
    key: VerifierKey | None = None
    trusted_on_first_use: bool = False
    problems: list[str] = field(default_factory=list)
    witness: str = ""  # the witness whose cosigned checkpoint is used, if any


@dataclass
class InclusionReport:
    nodes: list[NodeCheckpoint] = field(default_factory=list)
    events: list[EventInclusion] = field(default_factory=list)
    unchecked: list[tuple[int, str]] = field(default_factory=list)
    not_witnessed: list[tuple[int, str]] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return all(not n.problems for n in self.nodes) and all(e.ok for e in self.events)

    def lines(self) -> list[str]:
        out = []
        for node in self.nodes:
            if node.checkpoint is not None:
                trust = " (key trusted on first use)" if node.trusted_on_first_use else ""
                cosigned = f", cosigned by {node.witness}" if node.witness else ""
                out.append(
                    f"checkpoint of {node.checkpoint.origin}: {node.checkpoint.size} leaves, "
                    f"root {node.checkpoint.root.hex()[:16]}…{trust}{cosigned}"
                )
            out.extend(f"✗ node {node.code}: {p}" for p in node.problems)
        out.extend(
            f"✗ event {e.version} (authored at {e.node}): {e.problem}"
            for e in self.events
            if not e.ok
        )
        included = sum(1 for e in self.events if e.ok)
        if self.events:
            out.append(
                f"{'✓' if self.verified else '✗'} {included} of {len(self.events)} "
                "events proven included in their authors' signed checkpoints"
            )
        for version, code in self.not_witnessed:
            out.append(f"  event {version}: authored at {code} after its witnessed checkpoint")
        for version, code in self.unchecked:
            out.append(
                f"  event {version}: authored at {code}, not checked "
                f"(pass --author {code}=HOST:PORT)"
            )
        return out

    def document(self) -> dict[str, Any]:
        return {
            "verified": self.verified,
            "checkpoints": [
                {
                    "node": n.code,
                    "address": n.address,
                    "note": n.checkpoint.note if n.checkpoint else None,
                    "trusted_on_first_use": n.trusted_on_first_use,
                    "witness": n.witness or None,
                    "problems": list(n.problems),
                }
                for n in self.nodes
            ],
            "events": [
                {
                    "version": e.version,
                    "node": e.node,
                    "position": e.position,
                    "ok": e.ok,
                    "problem": e.problem,
                }
                for e in self.events
            ],
            "unchecked": [{"version": v, "node": code} for v, code in self.unchecked],
            "not_witnessed": [{"version": v, "node": code} for v, code in self.not_witnessed],
        }


def check_inclusion(
    events: Sequence[ledger_pb2.CaseEvent],
    case_id: str,
    address: str,
    *,
    authors: dict[str, str],
    keys: dict[str, VerifierKey],
    timeout: float,
    witnesses: dict[str, str] | None = None,
) -> InclusionReport:
    """Prove each event included at its author: the node at `address` (whose
    code its checkpoint names) and those of `authors` (code -> address); in
    the checkpoint the node of `witnesses` (code -> address) cosigned, for
    those it names."""
    witnesses = witnesses or {}
    report = InclusionReport()
    by_node: dict[str, list[ledger_pb2.CaseEvent]] = {}
    for event in events:
        by_node.setdefault(event.node, []).append(event)
    asked = _checkpoint_at(address, keys, timeout)
    where = dict(authors)
    if asked.checkpoint is not None:
        asked.code = asked.checkpoint.origin.rsplit("/", 1)[-1]
        where.setdefault(asked.code, address)
    for code, node_events in by_node.items():
        if code not in where:
            report.unchecked.extend((e.version, code) for e in node_events)
            continue
        node = (
            asked
            if where[code] == address and asked.code == code
            else _checkpoint_at(where[code], keys, timeout)
        )
        node.code = code
        report.nodes.append(node)
        if node.checkpoint is not None and node.key is not None and code in witnesses:
            _use_witnessed(node, node.key, witnesses[code], timeout)
        if node.checkpoint is None:
            continue
        with open_channel(node.address) as channel:
            node.problems.extend(_tail_cut(channel, node.checkpoint, timeout))
            audit = audit_pb2_grpc.AuditServiceStub(channel)
            for event in node_events:
                found = _event_included(audit, case_id, event, node.checkpoint, timeout)
                if found is None and node.witness:
                    report.not_witnessed.append((event.version, code))
                else:
                    report.events.append(
                        found or EventInclusion(event.version, code, 0, "not in the node's tree")
                    )
    if asked.checkpoint is None and asked not in report.nodes:
        report.nodes.append(asked)
    return report


def _use_witnessed(node: NodeCheckpoint, key: VerifierKey, witness: str, timeout: float) -> None:
    """Replace `node`'s fresh checkpoint by the one `witness` cosigned."""
    try:
        checkpoint, name = witnessed_checkpoint(witness, node.code, key, timeout)
    except CheckpointRefused as error:
        node.checkpoint = None
        node.problems.append(f"its witnessed checkpoint (at {witness}) is refused: {error}")
        return
    node.checkpoint, node.witness = checkpoint, name


def _checkpoint_at(address: str, keys: dict[str, VerifierKey], timeout: float) -> NodeCheckpoint:
    """A checkpoint the node at `address` signs now, checked with the key
    given for the code its origin names, or trusted on first use."""
    node = NodeCheckpoint(code="?", address=address)
    with open_channel(address) as channel:
        stub = audit_pb2_grpc.AuditServiceStub(channel)
        try:
            response = stub.GetCheckpoint(
                audit_pb2.GetCheckpointRequest(fresh=True), timeout=timeout
            )
            first_use = response.origin.rsplit("/", 1)[-1] not in keys
            used = keys.get(response.origin.rsplit("/", 1)[-1]) or VerifierKey.parse(
                response.verifier_key
            )
            checkpoint = verify_note(response.note, used)
        except CheckpointRefused as error:
            node.problems.append(f"its checkpoint is refused: {error}")
            return node
    node.checkpoint, node.key, node.trusted_on_first_use = checkpoint, used, first_use
    return node


def _tail_cut(channel: grpc.Channel, checkpoint: SignedCheckpoint, timeout: float) -> list[str]:
    """The log must still hold the last position its checkpoint covers."""
    if checkpoint.size == 0:
        return []
    stream = log_pb2_grpc.LogServiceStub(channel).StreamLog(
        log_pb2.StreamLogRequest(after=checkpoint.size - 1, limit=1), timeout=timeout
    )
    positions = [r.position for batch in stream for r in batch.records]
    if positions and positions[0] == checkpoint.size:
        return []
    return [
        f"its log no longer holds position {checkpoint.size}, the last its signed "
        "checkpoint covers: the log's tail was cut (run `caseledger audit verify`)"
    ]


def _event_included(
    audit: audit_pb2_grpc.AuditServiceStub,
    case_id: str,
    event: ledger_pb2.CaseEvent,
    checkpoint: SignedCheckpoint,
    timeout: float,
) -> EventInclusion | None:
    """None when the event is beyond the checkpoint's tree (OUT_OF_RANGE)."""
    try:
        proof = audit.GetInclusionProof(
            audit_pb2.GetInclusionProofRequest(
                event=audit_pb2.CaseEventRef(case=case_id, version=event.version),
                tree_size=checkpoint.size,
            ),
            timeout=timeout,
        )
    except grpc.RpcError as error:
        code = error.code().name if isinstance(error, grpc.Call) else "no status"
        if code == "OUT_OF_RANGE":
            return None
        return EventInclusion(
            event.version, event.node, 0, f"the node proves no inclusion ({code})"
        )
    try:
        leaf = merkle.leaf_hash(bytes.fromhex(event.hash))
    except ValueError:
        return EventInclusion(event.version, event.node, proof.position, "its hash is not hex")
    path = list(proof.path)
    if merkle.included(leaf, proof.leaf_index, checkpoint.size, path, checkpoint.root):
        if proof.leaf_index != proof.position - 1:
            return EventInclusion(
                event.version, event.node, proof.position, "leaf index and position disagree"
            )
        return EventInclusion(event.version, event.node, proof.position, "")
    return EventInclusion(
        event.version,
        event.node,
        proof.position,
        f"not the event the signed checkpoint committed to at log position {proof.position} "
        "(deleted, moved or rewritten after it was logged)",
    )


def parse_authors(values: Sequence[str]) -> dict[str, str]:
    authors = {}
    for value in values:
        code, sep, address = value.partition("=")
        if not sep or not code or not address:
            raise ValueError(f"{value!r} is not CODE=HOST:PORT")
        authors[code] = address
    return authors


def read_keys(paths: Sequence[Path]) -> dict[str, VerifierKey]:
    """Verifier keys by the division code their name ends in."""
    keys = {}
    for path in paths:
        key = VerifierKey.parse(path.read_text(encoding="utf-8"))
        keys[key.name.rsplit("/", 1)[-1]] = key
    return keys


def inclusion_options(command: Any) -> Any:
    """`--proofs`, `--key` and `--author`, for a command that checks inclusion."""
    command = click.option(
        "--proofs",
        is_flag=True,
        help="Also prove every event included in the signed checkpoint of the node that "
        "authored it (implied by --key and --author).",
    )(command)
    command = click.option(
        "--author",
        "authors",
        multiple=True,
        metavar="CODE=HOST:PORT",
        help="Where the node of division CODE answers, to prove the events it authored "
        "(repeatable; the node asked is known already).",
    )(command)
    command = click.option(
        "--witness",
        "witnesses",
        multiple=True,
        metavar="CODE=HOST:PORT",
        help="Prove CODE's events in the latest checkpoint of CODE the node at HOST:PORT "
        "(an ancestor) witnessed, its cosignature checked (repeatable).",
    )(command)
    return click.option(
        "--key",
        "key_files",
        multiple=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help="A node's verifier key (its <code>.identity.pub; repeatable). A node "
        "without one is trusted on first use.",
    )(command)


def inclusion_of(
    address: str,
    events: Sequence[ledger_pb2.CaseEvent],
    case_id: str,
    *,
    key_files: Sequence[Path],
    authors: Sequence[str],
    timeout: float,
    witnesses: Sequence[str] = (),
) -> InclusionReport:
    try:
        where = parse_authors(authors)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--author") from None
    try:
        witnessed_by = parse_authors(witnesses)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--witness") from None
    try:
        keys = read_keys(key_files)
    except (OSError, CheckpointRefused) as error:
        raise click.BadParameter(str(error), param_hint="--key") from None
    return check_inclusion(
        events, case_id, address, authors=where, keys=keys, timeout=timeout, witnesses=witnessed_by
    )


def show_inclusion(report: InclusionReport) -> None:
    out = console()
    for line in report.lines():
        out.print(escape(line))


def add_inclusion(document: dict[str, Any], report: InclusionReport) -> None:
    """Put the inclusion verdict into a replay's JSON report; it verifies only if both do."""
    document["verified"] = bool(document.get("verified")) and report.verified
    document["inclusion"] = report.document()
