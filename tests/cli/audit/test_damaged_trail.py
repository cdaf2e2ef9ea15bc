"""A stored event that no longer decodes is a broken trail, named by its version.

`audit replay` exits 3 (CHAIN_BROKEN) naming the version that cannot be
read, and says so in its JSON report; `case show` exits 3 too. Neither is a
node error (exit 1): the node answers DATA_LOSS with the case and version.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from caseledger.nodes.service.server import RunningNode
from tests.cli.test_cli_end_to_end import Operator, item_file, node, submit
from tests.nodes import tamper

__all__ = ["item_file", "node"]  # fixtures shared with the end-to-end tests


@pytest.mark.parametrize(
    ("what", "state"),
    [
        ("bytes that are no JSON", b"\xff\xfe not json"),
        ("JSON of another shape", b'{"opinion": "not an Accepted event"}'),
        ("a lone surrogate in the payload", None),
    ],
)
def test_an_event_that_no_longer_decodes_breaks_the_replay_at_its_version(
    node: RunningNode, item_file: Path, what: str, state: bytes | None
) -> None:
    run = Operator(node.address)
    run.ok("catalogue", "publish", str(item_file))
    number = submit(run)
    run.ok("case", "accept", number, "--notice-no", "历下受字〔2026〕001号")
    run.ok("case", "withdraw", number, "--reason", "申请人撤回")
    case_id = node.ledger.resolve(number)
    if state is None:
        (accepted,) = [
            e for e in tamper.stored(node.config.event_db, case_id) if e.originator_version == 2
        ]
        state = accepted.state.replace("历下受字".encode(), b"\\ud800", 1)

    tamper.replace_state(node.config.event_db, case_id, 2, state)

    audit = run("audit", "replay", number)
    assert audit.exit_code == 3, (what, audit.output)
    assert f"version 2 of case {case_id} cannot be read" in audit.output, audit.output
    report = json.loads(run("audit", "replay", number, "--json").stdout)
    assert report["verified"] is False
    assert report["damaged"]["version"] == 2
    assert report["damaged"]["damage"] == "unreadable"
    shown = run("case", "show", number)
    assert shown.exit_code == 3, shown.output
    assert f"version 2 of case {case_id}" in shown.output
    assert "node error" not in shown.output
