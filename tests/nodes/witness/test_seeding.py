"""A witness turned on after its node had replicated a source over its log
stream: it holds none of the source's first events' leaves, and the feed
will not send them again. It starts from the events the node already holds,
once the source's signed checkpoint confirms them; a wrong guess (events
that came over Kafka, by partition) seeds nothing and is no fork."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from caseledger.ledger.audit import merkle
from caseledger.ledger.audit.checkpoint import Checkpoint, origin_of, public_bytes, sign_note
from caseledger.ledger.audit.identity import Identity
from caseledger.ledger.audit.witness import Verdict, Witness
from caseledger.ledger.audit.witness_store import WitnessStore
from tests.nodes.replication import feeds
from tests.nodes.replication.feeds import COUNTY, TOWNSHIP, drive_cases, wait_for
from tests.nodes.replication.poison import steps
from tests.nodes.witness.harness import WitnessedGrpc, forks, witnessed, witnessed_up_to_head


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[WitnessedGrpc]:
    built = WitnessedGrpc(tmp_path, "sqlite")
    yield built
    built.close()


def test_a_witness_turned_on_late_starts_from_the_events_held(harness: WitnessedGrpc) -> None:
    number, _ = drive_cases(harness.source, 2)
    wait_for(harness.caught_up, "the receiver to replicate the source")
    harness.stop_receiver()
    # As a node that replicated without witnessing: no witness store at all.
    folder = harness.receiver.config.data_dir
    for made in folder.glob(f"{COUNTY}.witness.sqlite*"):
        made.unlink()

    harness.start_receiver()
    steps(harness.source, number, 2)
    wait_for(lambda: witnessed_up_to_head(harness.receiver, harness.source), "the cosignature")
    (record,) = witnessed(harness.receiver, TOWNSHIP)
    assert record.size == feeds.source_head(harness.source)
    assert forks(harness.receiver) == []


KEY = Ed25519PrivateKey.generate()
LEAVES = [merkle.leaf_hash(bytes([n]) * 32) for n in range(6)]


def note_of(size: int) -> str:
    root = merkle.root(merkle.LeafList(LEAVES), size)
    return sign_note(Checkpoint(origin_of(TOWNSHIP), size, root).text(), origin_of(TOWNSHIP), KEY)


@pytest.fixture
def witness(tmp_path: Path) -> Witness:
    store = WitnessStore(str(tmp_path / "witness.sqlite"))
    return Witness(store, Identity(origin_of(COUNTY), Ed25519PrivateKey.generate()))


def test_the_seed_is_taken_when_the_signed_checkpoint_confirms_it(witness: Witness) -> None:
    witness.seeder = lambda node: LEAVES[:4]
    witness.hold(TOWNSHIP, [(5, LEAVES[4]), (6, LEAVES[5])])
    outcome = witness.check(TOWNSHIP, note_of(6), public_bytes(KEY.public_key()))
    assert outcome.verdict is Verdict.WITNESSED
    assert witness.store.held_size(TOWNSHIP) == 6


def test_a_seed_the_checkpoint_does_not_confirm_is_dropped_not_taken_for_a_fork(
    witness: Witness,
) -> None:
    wrong = [LEAVES[1], LEAVES[0], LEAVES[2], LEAVES[3]]  # two events in another order
    witness.seeder = lambda node: wrong
    witness.hold(TOWNSHIP, [(5, LEAVES[4]), (6, LEAVES[5])])
    outcome = witness.check(TOWNSHIP, note_of(6), public_bytes(KEY.public_key()))
    assert outcome.verdict is Verdict.PENDING
    assert witness.store.held_size(TOWNSHIP) == 0
    assert witness.store.forks() == []
