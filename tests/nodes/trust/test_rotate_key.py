"""`caseledger network pki rotate-key CODE --data DIR` stages the node's next
identity key beside its key in force (the node rotates to it, docs/audit.md);
a folder with no identity key of that node, or a bad code, is refused."""

from __future__ import annotations

import stat
from pathlib import Path

from caseledger.ledger.audit.identity import load_or_create, next_key_file, stage_next
from tests.nodes.trust.conftest import CITY
from tests.nodes.trust.test_commands import pki


def test_rotate_key_stages_the_next_key_and_prints_it(tmp_path: Path) -> None:
    identity = load_or_create(tmp_path, CITY)
    result = pki("rotate-key", CITY, "--data", str(tmp_path))
    assert result.returncode == 0, result.stderr
    staged = next_key_file(tmp_path, CITY)
    assert stat.S_IMODE(staged.stat().st_mode) == 0o600
    printed = next(
        line.removeprefix("next verifier key ")
        for line in result.stdout.splitlines()
        if line.startswith("next verifier key ")
    )
    assert printed != identity.verifier_key
    # Asked again before the node rotated: the same key stays staged.
    assert stage_next(tmp_path, CITY) == printed


def test_rotate_key_refuses_a_folder_without_the_nodes_key(tmp_path: Path) -> None:
    result = pki("rotate-key", CITY, "--data", str(tmp_path))
    assert result.returncode == 1
    assert "holds no identity key of node" in result.stderr
    assert not next_key_file(tmp_path, CITY).exists()
    bad = pki("rotate-key", "12345", "--data", str(tmp_path))
    assert bad.returncode == 1
