"""Evidence bundles: a case's trail with everything needed to check it offline.

`audit bundle CASE --out FILE` writes one JSON document: the node's answer
to ListCaseEvents (protobuf, base64), and for each node that authored an
event its signed checkpoint and verifier key, and the event's inclusion
proof in that checkpoint. `audit check-bundle FILE` checks it with nothing
running: the hash chain (as `audit replay`), every checkpoint's signature
(with `--key`, or the bundled key, said to be trusted on first use), and
every inclusion proof with the leaf recomputed from the event's hash
(docs/audit.md). Exit 0 when all of it verifies, 3 otherwise.

With `--witness CODE=HOST:PORT`, an author's checkpoint in the bundle is the
latest one the node at HOST:PORT (an ancestor of CODE) witnessed, with its
cosignature and the witness's key, and the proofs are in that checkpoint;
check-bundle then verifies the cosignature too (with `--witness-key`, or the
bundled key, trusted on first use). An event the witness has not covered yet
gets no proof, and is listed as such.
"""

from __future__ import annotations

import base64
import json
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
from caseledger.cli.audit.cosignature import WitnessKey, verify_cosignature
from caseledger.cli.audit.inclusion import parse_authors, read_keys
from caseledger.cli.audit.trail import verify_trail
from caseledger.cli.connect import open_channel
from caseledger.cli.output import console, emit_json
from caseledger.cli.session import Session
from caseledger.v1 import audit_pb2, audit_pb2_grpc, ledger_pb2

FORMAT = "caseledger.evidence/v1"
DOES_NOT_VERIFY = 3


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@click.command()
@click.argument("case_ref", metavar="CASE")
@click.option(
    "--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the bundle (JSON).",
)  # fmt: skip
@click.option(
    "--author", "authors", multiple=True, metavar="CODE=HOST:PORT",
    help="Where the node of division CODE answers, for the events it authored.",
)  # fmt: skip
@click.option(
    "--witness", "witnesses", multiple=True, metavar="CODE=HOST:PORT",
    help="A node that witnesses CODE (an ancestor): bundle CODE's checkpoint it cosigned.",
)  # fmt: skip
@click.pass_obj
def bundle(
    session: Session,
    case_ref: str,
    out: Path,
    authors: tuple[str, ...],
    witnesses: tuple[str, ...],
) -> None:
    """Write CASE's trail, its authors' signed checkpoints and the inclusion
    proofs of its events to one file that verifies offline (check-bundle)."""
    try:
        where = parse_authors(authors)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--author") from None
    try:
        witnessed_by = parse_authors(witnesses)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--witness") from None
    response = session.ledger.ListCaseEvents(
        ledger_pb2.ListCaseEventsRequest(case=case_ref), timeout=session.timeout
    )
    case_id = verify_trail(response, case_ref).case_id
    checkpoints: dict[str, dict[str, Any]] = {}
    proofs: list[dict[str, Any]] = []
    with open_channel(session.address) as channel:
        asked = audit_pb2_grpc.AuditServiceStub(channel).GetCheckpoint(
            audit_pb2.GetCheckpointRequest(fresh=True), timeout=session.timeout
        )
    where.setdefault(asked.origin.rsplit("/", 1)[-1], session.address)
    for code in sorted({event.node for event in response.events}):
        if code not in where:
            continue
        with open_channel(where[code]) as channel:
            stub = audit_pb2_grpc.AuditServiceStub(channel)
            signed = stub.GetCheckpoint(
                audit_pb2.GetCheckpointRequest(fresh=True), timeout=session.timeout
            )
            checkpoints[code] = {"note": signed.note, "verifier_key": signed.verifier_key}
            size = signed.size
            if code in witnessed_by:
                cosigned = _witnessed(witnessed_by[code], code, session.timeout)
                checkpoints[code].update(cosigned)
                size = int(cosigned.pop("size"))
            for event in response.events:
                if event.node != code:
                    continue
                try:
                    proof = stub.GetInclusionProof(
                        audit_pb2.GetInclusionProofRequest(
                            event=audit_pb2.CaseEventRef(case=case_id, version=event.version),
                            tree_size=size,
                        ),
                        timeout=session.timeout,
                    )
                except grpc.RpcError as error:
                    if error.code() is not grpc.StatusCode.OUT_OF_RANGE:
                        raise
                    continue  # after the witnessed checkpoint: not covered yet
                proofs.append(
                    {
                        "version": event.version,
                        "node": code,
                        "position": proof.position,
                        "leaf_index": proof.leaf_index,
                        "tree_size": proof.tree_size,
                        "path": [_b64(p) for p in proof.path],
                    }
                )
    document = {
        "format": FORMAT,
        "case": case_ref,
        "trail": _b64(response.SerializeToString()),
        "checkpoints": checkpoints,
        "proofs": proofs,
    }
    out.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
    console().print(
        f"wrote {escape(str(out))}: {len(response.events)} events, "
        f"{len(proofs)} inclusion proofs, {len(checkpoints)} checkpoint(s)"
    )


def _witnessed(address: str, code: str, timeout: float) -> dict[str, Any]:
    """The latest checkpoint of `code` the node at `address` cosigned."""
    with open_channel(address) as channel:
        reply = audit_pb2_grpc.AuditServiceStub(channel).GetWitnessed(
            audit_pb2.GetWitnessedRequest(node=code), timeout=timeout
        )
    if not reply.checkpoints:
        raise click.ClickException(f"the node at {address} has witnessed no checkpoint of {code}")
    (record,) = reply.checkpoints
    return {"note": record.note, "witness_key": reply.witness_key, "size": record.size}


@dataclass
class BundleReport:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    events: int = 0
    proven: int = 0

    @property
    def verified(self) -> bool:
        return not self.problems


def _check_cosignature(
    report: BundleReport, code: str, signed: dict[str, Any], keys: dict[str, WitnessKey]
) -> None:
    bundled = WitnessKey.parse(signed["witness_key"])
    key = keys.get(bundled.name)
    if key is None:
        key = bundled
        report.notes.append(f"witness {key.name}: bundled key trusted on first use")
    verify_cosignature(signed["note"], key)
    report.notes.append(f"checkpoint of {code} cosigned by its witness {key.name}")


def _heads(
    document: dict[str, Any],
    keys: dict[str, VerifierKey],
    witness_keys: dict[str, WitnessKey],
    report: BundleReport,
) -> dict[str, SignedCheckpoint]:
    """Each author's bundled checkpoint, once its signatures verify."""
    heads = {}
    for code, signed in dict(document.get("checkpoints", {})).items():
        key = keys.get(code)
        try:
            if key is None:
                key = VerifierKey.parse(signed["verifier_key"])
                report.notes.append(f"checkpoint of {code}: bundled key trusted on first use")
            heads[code] = verify_note(signed["note"], key)
            if "witness_key" in signed:
                _check_cosignature(report, code, signed, witness_keys)
        except (CheckpointRefused, KeyError, TypeError) as error:
            report.problems.append(f"checkpoint of {code} refused: {error}")
    return heads


def check(
    document: Any,
    keys: dict[str, VerifierKey],
    witness_keys: dict[str, WitnessKey] | None = None,
) -> BundleReport:
    """`witness_keys`: the witnesses' keys, by witness name."""
    report = BundleReport()
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        report.problems.append(f"not a {FORMAT} bundle")
        return report
    try:
        response = ledger_pb2.ListCaseEventsResponse.FromString(
            base64.b64decode(document["trail"], validate=True)
        )
    except Exception as error:  # any malformed bundle is a refusal, never a crash
        report.problems.append(f"the trail does not decode: {error}")
        return report
    trail = verify_trail(response, str(document.get("case", "")))
    report.events = len(trail.checks)
    if not trail.verified:
        position, reason = trail.first_break or (None, "unknown")
        report.problems.append(f"the chain breaks at event {position}: {reason}")
    heads = _heads(document, keys, witness_keys or {}, report)
    events = {event.version: event for event in response.events}
    for proof in document.get("proofs", []):
        try:
            version, code = int(proof["version"]), str(proof["node"])
            head, event = heads.get(code), events.get(version)
            if head is None or event is None:
                report.problems.append(f"proof of event {version}: no such checkpoint or event")
                continue
            path = [base64.b64decode(p, validate=True) for p in proof["path"]]
            leaf = merkle.leaf_hash(bytes.fromhex(event.hash))
            index, size = int(proof["leaf_index"]), int(proof["tree_size"])
        except (KeyError, TypeError, ValueError) as error:
            report.problems.append(f"a proof is malformed: {error}")
            continue
        if size == head.size and merkle.included(leaf, index, size, path, head.root):
            report.proven += 1
        else:
            report.problems.append(
                f"event {version} is not proven included in the checkpoint of {code}"
            )
    unproven = sorted(set(events) - {int(p.get("version", 0)) for p in document.get("proofs", [])})
    for version in unproven:
        report.notes.append(f"event {version}: no inclusion proof in the bundle")
    return report


@click.command(name="check-bundle")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--key", "key_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
    help="An authoring node's verifier key (repeatable); otherwise the bundled one.",
)  # fmt: skip
@click.option(
    "--witness-key", "witness_files", multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A witness's key (repeatable); otherwise the bundled one.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report.")
def check_bundle(
    path: Path, key_files: tuple[Path, ...], witness_files: tuple[Path, ...], as_json: bool
) -> None:
    """Check an evidence bundle offline: chain, signatures, cosignatures and inclusion proofs."""
    try:
        keys = read_keys(key_files)
    except (OSError, CheckpointRefused) as error:
        raise click.BadParameter(str(error), param_hint="--key") from None
    try:
        witness_keys = {
            key.name: key
            for key in (WitnessKey.parse(f.read_text(encoding="utf-8")) for f in witness_files)
        }
    except (OSError, CheckpointRefused) as error:
        raise click.BadParameter(str(error), param_hint="--witness-key") from None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise click.BadParameter(str(error), param_hint="FILE") from None
    report = check(document, keys, witness_keys)
    if as_json:
        emit_json(
            {
                "verified": report.verified,
                "events": report.events,
                "proven": report.proven,
                "problems": report.problems,
                "notes": report.notes,
            }
        )
    else:
        out = console()
        for line in report.notes:
            out.print(f"  {escape(line)}")
        for line in report.problems:
            out.print(f"✗ {escape(line)}")
        verdict = "✓" if report.verified else "✗"
        out.print(
            f"{verdict} {report.events} events, {report.proven} proven included "
            "in their authors' signed checkpoints"
        )
    if not report.verified:
        raise click.exceptions.Exit(DOES_NOT_VERIFY)
