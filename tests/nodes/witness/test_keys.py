"""Whose signature a witness accepts: the identity key that the network CA's
certificate of the node binds, and no other. A note it cannot attribute is
refused and counted, never taken for a fork."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from prometheus_client import CollectorRegistry

from caseledger.ledger.audit import merkle
from caseledger.ledger.audit.checkpoint import Checkpoint
from caseledger.ledger.audit.identity import Identity, load_or_create
from caseledger.ledger.audit.witness import Witness
from caseledger.ledger.audit.witness_store import WitnessStore
from caseledger.nodes.replication.witnessing import NodeWitness, WitnessMetrics
from caseledger.nodes.trust.certificates import issue
from caseledger.nodes.trust.founding import init_ca
from caseledger.nodes.trust.layout import PkiFolder, ca_cert_copy, node_cert_file
from caseledger.nodes.trust.revocation import revoke
from tests.nodes.replication.feeds import COUNTY, TOWNSHIP
from tests.pki import TestPki, shared_pki

OTHER = "370102002000"
LEAVES = [merkle.leaf_hash(bytes([n]) * 32) for n in range(3)]


def node_folder(root: Path, code: str) -> Path:
    folder = root / code
    shared_pki().secure(folder, code)
    return folder


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def witness(tmp_path: Path, registry: CollectorRegistry) -> NodeWitness:
    folder = node_folder(tmp_path, COUNTY)
    core = Witness(WitnessStore(str(tmp_path / "w.sqlite")), load_or_create(folder, COUNTY))
    built = NodeWitness(core, ca_cert_copy(folder), WitnessMetrics(registry))
    built.received(TOWNSHIP, list(enumerate(LEAVES, start=1)))
    return built


def note(identity: Identity, size: int = 3) -> str:
    root = merkle.root(merkle.LeafList(LEAVES), size)
    return identity.sign(Checkpoint(identity.name, size, root))


def refused(registry: CollectorRegistry) -> float:
    value = registry.get_sample_value(
        "caseledger_checkpoints_refused_total", {"source": TOWNSHIP, "reason": "signature"}
    )
    return value or 0.0


def test_a_note_signed_by_the_key_its_certificate_binds_is_witnessed(
    witness: NodeWitness, tmp_path: Path
) -> None:
    folder = node_folder(tmp_path, TOWNSHIP)
    certificate = node_cert_file(folder, TOWNSHIP).read_bytes()
    witness.checkpoint(TOWNSHIP, note(load_or_create(folder, TOWNSHIP)), certificate)
    kept = witness.witness.store.witnessed(TOWNSHIP)
    assert kept is not None
    assert kept.size == 3


def test_another_nodes_certificate_is_refused(
    witness: NodeWitness, tmp_path: Path, registry: CollectorRegistry
) -> None:
    township = load_or_create(node_folder(tmp_path, TOWNSHIP), TOWNSHIP)
    other = node_folder(tmp_path, OTHER)
    witness.checkpoint(TOWNSHIP, note(township), node_cert_file(other, OTHER).read_bytes())
    assert witness.witness.store.witnessed(TOWNSHIP) is None
    assert witness.witness.store.forks() == []
    assert refused(registry) == 1


def test_a_note_signed_by_a_key_the_certificate_does_not_bind_is_refused(
    witness: NodeWitness, tmp_path: Path, registry: CollectorRegistry
) -> None:
    folder = node_folder(tmp_path, TOWNSHIP)
    certificate = node_cert_file(folder, TOWNSHIP).read_bytes()
    stranger = load_or_create(tmp_path / "elsewhere", TOWNSHIP)  # same name, another key
    witness.checkpoint(TOWNSHIP, note(stranger), certificate)
    assert witness.witness.store.witnessed(TOWNSHIP) is None
    assert witness.witness.store.forks() == []
    assert refused(registry) == 1


def test_a_certificate_from_another_ca_is_refused(
    witness: NodeWitness, tmp_path: Path, registry: CollectorRegistry
) -> None:
    rogue = init_ca(PkiFolder(tmp_path / "rogue-ca"), "rogue")
    folder = tmp_path / "rogue-township"
    issue(rogue, TOWNSHIP, data=folder)
    certificate = node_cert_file(folder, TOWNSHIP).read_bytes()
    witness.checkpoint(TOWNSHIP, note(load_or_create(folder, TOWNSHIP)), certificate)
    assert witness.witness.store.witnessed(TOWNSHIP) is None
    assert refused(registry) == 1


def test_a_revoked_certificate_is_refused_by_a_running_witness(
    tmp_path: Path, registry: CollectorRegistry
) -> None:
    pki = TestPki(tmp_path / "pki")
    county, township = tmp_path / "own" / COUNTY, tmp_path / "own" / TOWNSHIP
    pki.secure(county, COUNTY)
    pki.secure(township, TOWNSHIP)
    core = Witness(WitnessStore(str(tmp_path / "own.sqlite")), load_or_create(county, COUNTY))
    running = NodeWitness(core, ca_cert_copy(county), WitnessMetrics(registry), crl_file=pki.crl)
    running.received(TOWNSHIP, list(enumerate(LEAVES, start=1)))
    certificate = node_cert_file(township, TOWNSHIP).read_bytes()
    signer = load_or_create(township, TOWNSHIP)
    running.checkpoint(TOWNSHIP, note(signer, 2), certificate)
    assert core.store.witnessed(TOWNSHIP) is not None

    serial = x509.load_pem_x509_certificate(certificate).serial_number
    revoke(pki.authority, [serial], x509.ReasonFlags.key_compromise)
    running.checkpoint(TOWNSHIP, note(signer, 3), certificate)
    kept = core.store.witnessed(TOWNSHIP)
    assert kept is not None
    assert kept.size == 2
    assert refused(registry) == 1
