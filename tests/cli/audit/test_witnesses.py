"""`caseledger audit witnessed` and `audit forks` against a real parent that
witnesses its child over the log stream."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from click.testing import Result
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from caseledger.ledger.audit.checkpoint import origin_of, public_bytes
from caseledger.ledger.audit.cosignature import cosignature_verifier_key
from tests.cli.test_cli_end_to_end import Operator
from tests.nodes.replication.feeds import COUNTY, TOWNSHIP, drive_cases, wait_for
from tests.nodes.replication.poison import steps
from tests.nodes.witness.harness import WitnessedGrpc, forks, lie, witnessed_up_to_head


@pytest.fixture
def family(tmp_path: Path) -> Iterator[WitnessedGrpc]:
    with structlog.testing.capture_logs():
        built = WitnessedGrpc(tmp_path, "sqlite")
        yield built
        built.close()


def test_witnessed_lists_the_childs_checkpoint_with_a_cosignature_that_verifies(
    family: WitnessedGrpc,
) -> None:
    drive_cases(family.source, 1)
    wait_for(lambda: witnessed_up_to_head(family.receiver, family.source), "the cosignature")
    run = Operator(family.receiver.address)
    result = run("audit", "witnessed", family.receiver.address, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["verified"] is True
    assert report["witness"] == origin_of(COUNTY)
    (row,) = report["witnessed"]
    assert row["node"] == TOWNSHIP
    assert row["cosignature_verified"] is True


def test_witnessed_with_another_witness_key_does_not_verify(
    family: WitnessedGrpc, tmp_path: Path
) -> None:
    drive_cases(family.source, 1)
    wait_for(lambda: witnessed_up_to_head(family.receiver, family.source), "the cosignature")
    other = tmp_path / "other.key"
    # The witness's name with another key: the node's cosignature is not by it.
    public = public_bytes(Ed25519PrivateKey.generate().public_key())
    other.write_text(cosignature_verifier_key(origin_of(COUNTY), public), encoding="utf-8")
    result = Operator(family.receiver.address)(
        "audit", "witnessed", family.receiver.address, "--witness-key", str(other)
    )
    assert result.exit_code == 3, result.output
    assert "no cosignature of" in result.stdout


def test_forks_is_quiet_for_an_honest_child_and_alerts_with_both_notes_after_a_lie(
    family: WitnessedGrpc,
) -> None:
    number, _ = drive_cases(family.source, 2)
    steps(family.source, number, 2)
    wait_for(lambda: witnessed_up_to_head(family.receiver, family.source), "the cosignature")
    run = Operator(family.receiver.address)
    quiet = run("audit", "forks", family.receiver.address)
    assert quiet.exit_code == 0, quiet.output
    assert "found no fork" in quiet.stdout

    lie(family, number)
    wait_for(lambda: bool(forks(family.receiver)), "the parent to find the fork", timeout=60)
    alert = run("audit", "forks", family.receiver.address)
    assert alert.exit_code == 3, alert.output
    assert f"FORK in the log of node {TOWNSHIP}" in alert.stdout
    report = json.loads(run("audit", "forks", family.receiver.address, "--json").stdout)
    (fork,) = report["forks"]
    assert fork["accepted_note"].startswith(origin_of(TOWNSHIP) + "\n")
    assert fork["conflicting_note"].startswith(origin_of(TOWNSHIP) + "\n")


def test_a_bundle_with_the_witnessed_checkpoint_verifies_its_cosignature_offline(
    family: WitnessedGrpc, tmp_path: Path
) -> None:
    (number,) = drive_cases(family.source, 1)
    wait_for(lambda: witnessed_up_to_head(family.receiver, family.source), "the cosignature")
    bundle = tmp_path / "case.evidence.json"
    witness = f"{TOWNSHIP}={family.receiver.address}"
    run = Operator(family.source.address)
    written = run("audit", "bundle", number, "--out", str(bundle), "--witness", witness)
    assert written.exit_code == 0, written.output

    checked = run("audit", "check-bundle", str(bundle), "--json")
    assert checked.exit_code == 0, checked.output
    report = json.loads(checked.stdout)
    assert report["proven"] == report["events"] == 2
    assert (
        f"checkpoint of {TOWNSHIP} cosigned by its witness {origin_of(COUNTY)}" in (report["notes"])
    )

    stranger = tmp_path / "stranger.key"
    public = public_bytes(Ed25519PrivateKey.generate().public_key())
    stranger.write_text(cosignature_verifier_key(origin_of(COUNTY), public), encoding="utf-8")
    refused = run("audit", "check-bundle", str(bundle), "--witness-key", str(stranger))
    assert refused.exit_code == 3, refused.output
    assert "no cosignature of" in refused.stdout


def test_replay_against_the_witnessed_checkpoint_catches_a_node_that_lied(
    family: WitnessedGrpc,
) -> None:
    """Proven in the checkpoint the parent cosigned, an honest trail verifies;
    once the child rewrote its history and signed it, its own fresh
    checkpoint still agrees with it, but the witnessed one does not."""
    (number,) = drive_cases(family.source, 1)
    steps(family.source, number, 2)
    wait_for(lambda: witnessed_up_to_head(family.receiver, family.source), "the cosignature")

    def replay(*extra: str) -> Result:
        return Operator(family.source.address)("audit", "replay", number, *extra)

    honest = replay("--witness", f"{TOWNSHIP}={family.receiver.address}")
    assert honest.exit_code == 0, honest.output
    assert f"cosigned by {origin_of(COUNTY)}" in honest.stdout

    lie(family, number)
    assert replay("--proofs").exit_code == 0  # the liar agrees with itself
    caught = replay("--witness", f"{TOWNSHIP}={family.receiver.address}")
    assert caught.exit_code == 3, caught.output
    assert "not the event the signed checkpoint committed to" in caught.stdout


def test_a_witnessing_nodes_own_checkpoint_with_its_pins_verifies(family: WitnessedGrpc) -> None:
    drive_cases(family.source, 1)
    wait_for(lambda: witnessed_up_to_head(family.receiver, family.source), "the cosignature")
    drive_cases(family.receiver, 1)  # the parent's own log grows too
    result = Operator(family.receiver.address)("audit", "verify", family.receiver.address)
    assert result.exit_code == 0, result.output
    assert f"witnessed {origin_of(TOWNSHIP)} " in result.stdout
