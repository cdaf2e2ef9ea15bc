"""A node's checkpoint as one of its ancestors witnessed it, checked: the
node's own signature (with the key the auditor holds) and the witness's
cosignature (with the key the witness sends; docs/audit.md, "Witnesses")."""

from __future__ import annotations

from caseledger.cli.audit.checkpoint import (
    CheckpointRefused,
    SignedCheckpoint,
    VerifierKey,
    verify_note,
)
from caseledger.cli.audit.cosignature import WitnessKey, verify_cosignature
from caseledger.cli.connect import open_channel
from caseledger.v1 import audit_pb2, audit_pb2_grpc


def witnessed_checkpoint(
    witness: str, code: str, key: VerifierKey, timeout: float
) -> tuple[SignedCheckpoint, str]:
    """The latest checkpoint of node `code` that the node at `witness`
    cosigned, and the witness's name; CheckpointRefused if there is none or
    a signature does not verify."""
    with open_channel(witness) as channel:
        reply = audit_pb2_grpc.AuditServiceStub(channel).GetWitnessed(
            audit_pb2.GetWitnessedRequest(node=code), timeout=timeout
        )
    if not reply.checkpoints:
        raise CheckpointRefused(f"the node at {witness} has witnessed no checkpoint of {code}")
    (record,) = reply.checkpoints
    checkpoint = verify_note(record.note, key)
    witness_key = WitnessKey.parse(reply.witness_key)
    verify_cosignature(record.note, witness_key)
    return checkpoint, witness_key.name
