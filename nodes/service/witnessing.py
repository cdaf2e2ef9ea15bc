"""Parents are witnesses: what a running node needs to send its checkpoints
with its events and to witness its descendants' (docs/audit.md, "Witnesses").

`attach_witness` is called as the node starts, before its feed. From then on:

- its log stream's batches and its Kafka checkpoint topic carry its
  checkpoint of its log up to what was just sent, with its certificate;
- what its feeds receive from its descendants goes to its witness
  (`<code>.witness.sqlite` in its data folder), which cosigns their
  checkpoints, keeps forks, and serves both through the AuditService;
- its own checkpoints pin the latest checkpoint it witnessed of each
  descendant, as extension lines;
- a descendant it replicated before witnessing it is witnessed from the
  events it holds of it (`ledger.audit.seeding`);
- the health service `caseledger.witness` is NOT_SERVING while it keeps
  evidence of a fork.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from grpc_health.v1 import health_pb2

from caseledger.ledger.audit.seeding import authored_leaves
from caseledger.ledger.audit.witness import Witness
from caseledger.ledger.audit.witness_store import WitnessStore
from caseledger.nodes.replication.witnessing import NodeWitness, WitnessMetrics
from caseledger.nodes.service.checkpoints import BeyondTree, Checkpoints
from caseledger.nodes.trust.layout import ca_cert_copy, node_cert_file
from caseledger.v1 import log_pb2

if TYPE_CHECKING:
    from grpc_health.v1.health import HealthServicer
    from prometheus_client import CollectorRegistry

    from caseledger.ledger.application import CaseLedger
    from caseledger.nodes.config import NodeConfig
    from caseledger.nodes.replication.kafka_feed import KafkaPublisher
    from caseledger.nodes.replication.port import Intake

WITNESS_HEALTH = "caseledger.witness"
"""The health service that is NOT_SERVING while the node keeps evidence of a fork."""


@dataclass(frozen=True)
class Attachment:
    checkpoints: Checkpoints
    certificate: bytes  # the node's own certificate (PEM), sent with its checkpoints
    witness: NodeWitness

    def carried(self, size: int) -> log_pb2.SignedCheckpoint | None:
        """The node's checkpoint of its log's first `size` positions, as it
        travels; None while its tree has not reached them."""
        try:
            signed = self.checkpoints.at(size)
        except BeyondTree:
            return None
        return log_pb2.SignedCheckpoint(note=signed.note, certificate=self.certificate)


# The services are built before the node runs; they find what was attached
# to their ledger here.
_attached: weakref.WeakKeyDictionary[CaseLedger, Attachment] = weakref.WeakKeyDictionary()


def attached(ledger: CaseLedger) -> Attachment | None:
    return _attached.get(ledger)


def attach_witness(
    config: NodeConfig,
    ledger: CaseLedger,
    checkpoints: Checkpoints | None,
    *,
    intake: Intake,
    health: HealthServicer,
    registry: CollectorRegistry,
    publisher: KafkaPublisher | None = None,
) -> Attachment | None:
    """Make the node send its checkpoints with its events and witness its
    sources'; before its feed starts, so that its witness sees every event
    the feed stores. None for a node whose store keeps no Merkle log."""
    if checkpoints is None:
        return None
    cert_file = node_cert_file(config.data_dir, config.code)
    certificate = cert_file.read_bytes() if cert_file.exists() else b""
    store = WitnessStore(str(config.data_dir / f"{config.code}.witness.sqlite"))
    witness = Witness(store, checkpoints.identity)
    # A source replicated before this node witnessed it: its first leaves are
    # taken from the events held, once a checkpoint of it confirms them.
    witness.seeder = partial(authored_leaves, intake.received.recorder)

    def forked() -> None:
        health.set(WITNESS_HEALTH, health_pb2.HealthCheckResponse.NOT_SERVING)

    node_witness = NodeWitness(
        witness,
        ca_cert_copy(config.data_dir),
        WitnessMetrics(registry),
        forked,
        crl_file=config.revocation_list,
    )
    health.set(
        WITNESS_HEALTH,
        health_pb2.HealthCheckResponse.NOT_SERVING
        if store.forks()
        else health_pb2.HealthCheckResponse.SERVING,
    )
    attachment = Attachment(checkpoints, certificate, node_witness)
    checkpoints.pins = witness.pins
    checkpoints.on_rotated.append(witness.rotated)
    intake.witness = node_witness
    if publisher is not None:
        publisher.sign_at = attachment.carried
    _attached[ledger] = attachment
    return attachment


def detach_witness(ledger: CaseLedger) -> None:
    """Once the node's feed and server stopped: close its witness's store."""
    attachment = _attached.pop(ledger, None)
    if attachment is not None:
        attachment.witness.witness.store.close()
