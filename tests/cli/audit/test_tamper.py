"""A byte changed in the node's stored events is caught by `caseledger audit replay`."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from caseledger.nodes.service.server import RunningNode
from tests.cli.test_cli_end_to_end import Operator, item_file, node, submit

__all__ = ["item_file", "node"]  # fixtures shared with the end-to-end tests


def _rewrite_state(database: Path, version: int, old: bytes, new: bytes) -> None:
    """Edit one stored event in place, as someone with write access to the file could."""
    with sqlite3.connect(database) as conn:
        rows = conn.execute(
            "SELECT originator_id, state FROM stored_events WHERE originator_version = ? "
            "AND topic LIKE 'caseledger.case.%'",  # a case event's stable name
            (version,),
        ).fetchall()
        assert len(rows) == 1
        originator, state = rows[0]
        assert old in state
        conn.execute(
            "UPDATE stored_events SET state = ? WHERE originator_id = ? AND originator_version = ?",
            (state.replace(old, new, 1), originator, version),
        )


@pytest.mark.parametrize(
    ("what", "old", "new"),
    [
        (
            "the acceptance notice number",
            "历下受字〔2026〕001号".encode(),
            "历下受字〔2026〕002号".encode(),
        ),
        (
            "the operator's role",
            b'"operator_role":"window_clerk"',
            b'"operator_role":"approver_xx"',
        ),
    ],
)
def test_a_changed_byte_in_a_stored_event_breaks_the_replay(
    node: RunningNode, item_file: Path, what: str, old: bytes, new: bytes
) -> None:
    run = Operator(node.address)
    run.ok("catalogue", "publish", str(item_file))
    number = submit(run)
    run.ok("case", "accept", number, "--notice-no", "历下受字〔2026〕001号")
    run.ok("case", "withdraw", number, "--reason", "申请人撤回")
    assert run("audit", "replay", number).exit_code == 0

    _rewrite_state(node.config.event_db, 2, old, new)

    audit = run("audit", "replay", number)
    assert audit.exit_code == 3, (what, audit.output)
    report = run("audit", "replay", number, "--json")
    assert report.exit_code == 3
    assert '"verified": false' in report.stdout
