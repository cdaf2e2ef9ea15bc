"""The node as the witness of its sources: what the feeds hand it, checked
(`ledger.audit.witness`), with the signer's key taken from its certificate,
and every outcome made visible.

A checkpoint's signature is checked with the identity key the source's
certificate binds (`identity_key_of`), once the certificate is found issued
by the network CA (the one in this node's data folder), valid now, naming
the source and, with the network's revocation list, not revoked (checked at
every checkpoint: a revoke reaches a running witness). A fork is logged at
error level with both notes, counted (`caseledger_checkpoint_forks`, by
source) and reported to `on_fork` (the node's health); a refused note is
logged and counted; neither stops the feed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import structlog
from cryptography import x509
from prometheus_client import CollectorRegistry, Counter, Gauge

from caseledger.ledger.audit.checkpoint import public_bytes
from caseledger.ledger.audit.witness import Outcome, Verdict, Witness
from caseledger.nodes.trust.certificates import (
    division_code_of,
    identity_key_of,
    verify_issued_by,
)
from caseledger.nodes.trust.errors import TrustError
from caseledger.nodes.trust.revocation import RevocationList

_log = structlog.get_logger("caseledger.nodes.witness")


class WitnessMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.witnessed = Counter(
            "caseledger_checkpoints_witnessed",
            "Checkpoints of descendants checked and cosigned, by source",
            ["source"],
            registry=registry,
        )
        self.refused = Counter(
            "caseledger_checkpoints_refused",
            "Checkpoints of descendants not cosigned, by source and why (fork, signature)",
            ["source", "reason"],
            registry=registry,
        )
        self.forks = Gauge(
            "caseledger_checkpoint_forks",
            "Forks found in a descendant's log (two views that cannot both hold), kept as evidence",
            ["source"],
            registry=registry,
        )
        self.waiting = Gauge(
            "caseledger_witness_waiting_events",
            "Events a descendant's newest checkpoint covers that this node has not received "
            "(a witness stalled behind a hole in what it received shows here)",
            ["source"],
            registry=registry,
        )
        self.size = Gauge(
            "caseledger_witnessed_tree_size",
            "Tree size of a descendant's latest witnessed checkpoint",
            ["source"],
            registry=registry,
        )


class NodeWitness:
    """Implements the port's `Witnessing` for a running node."""

    def __init__(
        self,
        witness: Witness,
        ca_file: Path,
        metrics: WitnessMetrics,
        on_fork: Callable[[], None] = lambda: None,
        crl_file: Path | None = None,
    ) -> None:
        self.witness = witness
        self._ca_file = ca_file
        self._crl_file = crl_file
        self._revocations: RevocationList | None = None
        self._metrics = metrics
        self._on_fork = on_fork
        # (node, certificate) -> (certificate, key), once checked against the CA
        self._keys: dict[tuple[str, bytes], tuple[x509.Certificate, bytes]] = {}
        # The last certificate each node sent: a log stream sends it once.
        self._certificates: dict[str, bytes] = {}
        self._lock = threading.Lock()
        for node in {fork.node for fork in witness.store.forks()}:
            metrics.forks.labels(source=node).set(len(witness.store.forks(node)))

    def received(self, node: str, leaves: Sequence[tuple[int, bytes]]) -> None:
        with self._lock:
            outcomes = self.witness.hold(node, leaves)
        for outcome in outcomes:
            self._report(outcome)

    def checkpoint(self, node: str, note: str, certificate: bytes) -> None:
        if certificate:
            self._certificates[node] = certificate
        else:
            certificate = self._certificates.get(node, b"")
        try:
            public = self._key_of(node, certificate)
        except TrustError as error:
            self._report(Outcome(node, Verdict.REFUSED, detail=str(error)))
            return
        with self._lock:
            outcome = self.witness.check(node, note, public)
        self._report(outcome)

    def _key_of(self, node: str, certificate: bytes) -> bytes:
        known = self._keys.get((node, certificate))
        if known is None:
            known = self._checked(node, certificate)
            self._keys[node, certificate] = known
        cert, public = known
        if self._revocations is not None and self._revocations.is_revoked(cert):
            raise TrustError(f"the certificate of node {node} ({cert.serial_number:x}) is revoked")
        return public

    def _checked(self, node: str, certificate: bytes) -> tuple[x509.Certificate, bytes]:
        if not certificate:
            raise TrustError(f"node {node} sent its checkpoint without its certificate")
        try:
            cert = x509.load_pem_x509_certificate(certificate)
            ca = x509.load_pem_x509_certificate(self._ca_file.read_bytes())
        except (ValueError, OSError) as error:
            raise TrustError(f"the certificate of node {node} cannot be read: {error}") from None
        verify_issued_by(cert, ca)
        named = division_code_of(cert)
        if named != node:
            raise TrustError(f"the certificate sent by node {node} names node {named}")
        if self._crl_file is not None and self._revocations is None:
            self._revocations = RevocationList(self._crl_file, ca)
        return cert, public_bytes(identity_key_of(cert))

    def _report(self, outcome: Outcome) -> None:
        node = outcome.node
        if outcome.verdict is Verdict.WITNESSED:
            self._metrics.witnessed.labels(source=node).inc()
            self._metrics.size.labels(source=node).set(outcome.size)
            self._metrics.waiting.labels(source=node).set(0)
            _log.debug("checkpoint witnessed", node=node, size=outcome.size)
        elif outcome.verdict is Verdict.FORKED:
            self._metrics.refused.labels(source=node, reason="fork").inc()
            fork = outcome.fork
            if fork is None:
                return  # the same evidence again: kept and reported once
            self._metrics.forks.labels(source=node).inc()
            _log.error(
                "checkpoint fork",
                node=node,
                detail=fork.detail,
                accepted_note=fork.accepted_note,
                conflicting_note=fork.conflicting_note,
            )
            self._on_fork()
        elif outcome.verdict is Verdict.PENDING:
            held = self.witness.store.held_size(node)
            self._metrics.waiting.labels(source=node).set(max(0, outcome.size - held))
        elif outcome.verdict is Verdict.REFUSED:
            self._metrics.refused.labels(source=node, reason="signature").inc()
            _log.warning("checkpoint refused", node=node, detail=outcome.detail)
