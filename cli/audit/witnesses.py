"""`caseledger audit witnessed` and `caseledger audit forks`: what a node,
as the witness of its descendants, cosigned, and the forks it found
(docs/audit.md, "Witnesses").

`witnessed` lists the latest checkpoint the node cosigned of each descendant
and checks each cosignature, with the witness key given (`--witness-key`) or
the one the node sends (trust on first use, said so). `forks` is the alert:
it exits 3 when the node keeps evidence of any fork, printing both signed
notes so that anyone holding the descendant's key can check them.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from caseledger.cli.audit.checkpoint import CheckpointRefused
from caseledger.cli.audit.cosignature import WitnessKey, verify_cosignature
from caseledger.cli.connect import open_channel
from caseledger.cli.output import console, emit_json
from caseledger.cli.session import Session
from caseledger.v1 import audit_pb2, audit_pb2_grpc

FOUND = 3
"""Exit code when a fork is kept, or a cosignature does not verify."""

_of = click.option(
    "--of", "of", default="", metavar="CODE", help="Only this descendant (division code)."
)


@click.command()
@click.argument("node_address", metavar="NODE")
@_of
@click.option(
    "--witness-key",
    "key_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="NODE's witness key (<name>+<key id>+<base64 key>). Without it, the key the "
    "node sends is used and printed.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@click.pass_obj
def witnessed(
    session: Session, node_address: str, of: str, key_file: Path | None, as_json: bool
) -> None:
    """List the latest checkpoint NODE witnessed of each descendant, with its cosignature.

    Exits 0 when every cosignature verifies, 3 otherwise.
    """
    with open_channel(node_address) as channel:
        reply = audit_pb2_grpc.AuditServiceStub(channel).GetWitnessed(
            audit_pb2.GetWitnessedRequest(node=of), timeout=session.timeout
        )
    text = key_file.read_text(encoding="utf-8") if key_file is not None else reply.witness_key
    try:
        key = WitnessKey.parse(text)
    except CheckpointRefused as error:
        raise click.BadParameter(str(error), param_hint="--witness-key") from None
    rows = [_checked(record, key) for record in reply.checkpoints]
    verified = all(row["cosignature_verified"] for row in rows)
    if as_json:
        emit_json(
            {
                "node": node_address,
                "witness": key.name,
                "witness_key_from_node": key_file is None,
                "verified": verified,
                "witnessed": rows,
            }
        )
    else:
        _show_witnessed(node_address, key, key_file is None, rows)
    if not verified:
        raise click.exceptions.Exit(FOUND)


def _checked(record: audit_pb2.WitnessedCheckpoint, key: WitnessKey) -> dict[str, Any]:
    try:
        verify_cosignature(record.note, key)
        problem = ""
    except CheckpointRefused as error:
        problem = str(error)
    return {
        "node": record.node,
        "size": record.size,
        "root_hash": base64.b64encode(record.root_hash).decode(),
        "witnessed_at": record.witnessed_at,
        "cosignature_verified": not problem,
        "problem": problem,
        "note": record.note,
    }


def _show_witnessed(
    address: str, key: WitnessKey, from_node: bool, rows: list[dict[str, Any]]
) -> None:
    out = console()
    if from_node:
        out.print(
            "! the witness key was taken from the node (trust on first use); keep it and "
            "pass it with --witness-key next time:"
        )
        out.print(f"  {escape(key.name)}+{key.key_id.hex()}+…")
    if not rows:
        out.print(f"node {escape(address)} has witnessed no checkpoint yet")
        return
    table = Table(title=f"checkpoints witnessed by {escape(key.name)}")
    for header in ("node", "size", "root", "witnessed at (UTC)", "cosignature"):
        table.add_column(header, no_wrap=True)
    for row in rows:
        mark = "✓" if row["cosignature_verified"] else f"✗ {row['problem']}"
        table.add_row(
            escape(row["node"]),
            str(row["size"]),
            escape(row["root_hash"][:16] + "…"),
            escape(row["witnessed_at"]),
            escape(mark),
        )
    out.print(table)


@click.command()
@click.argument("node_address", metavar="NODE")
@_of
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@click.pass_obj
def forks(session: Session, node_address: str, of: str, as_json: bool) -> None:
    """List the forks NODE found among its descendants' checkpoints, with both notes.

    Exits 0 when there is none, 3 when NODE keeps evidence of a fork.
    """
    with open_channel(node_address) as channel:
        reply = audit_pb2_grpc.AuditServiceStub(channel).ListForks(
            audit_pb2.ListForksRequest(node=of), timeout=session.timeout
        )
    found = list(reply.forks)
    if as_json:
        emit_json(
            {
                "node": node_address,
                "count": len(found),
                "forks": [
                    {
                        "node": fork.node,
                        "detail": fork.detail,
                        "detected_at": fork.detected_at,
                        "accepted_note": fork.accepted_note,
                        "conflicting_note": fork.conflicting_note,
                    }
                    for fork in found
                ],
            }
        )
    else:
        _show_forks(node_address, found)
    if found:
        raise click.exceptions.Exit(FOUND)


def _show_forks(address: str, found: list[audit_pb2.Fork]) -> None:
    out = console()
    if not found:
        out.print(f"✓ node {escape(address)} found no fork among its descendants' logs")
        return
    for fork in found:
        out.print(f"✗ FORK in the log of node {escape(fork.node)} ({escape(fork.detected_at)})")
        out.print(f"  {escape(fork.detail)}")
        out.print("  witnessed before:")
        for line in (fork.accepted_note or "(none)\n").rstrip("\n").split("\n"):
            out.print(f"    {escape(line)}")
        out.print("  signed since, and refused:")
        for line in (
            (fork.conflicting_note or "(no checkpoint: two events at one position)\n")
            .rstrip("\n")
            .split("\n")
        ):
            out.print(f"    {escape(line)}")
    out.print(f"✗ {len(found)} fork(s) kept as evidence at node {escape(address)}")
