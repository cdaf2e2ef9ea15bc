"""A refusal names the node's reason, the case's status and what that status allows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from click.testing import CliRunner
from google.rpc import error_details_pb2

from caseledger.cli.main import cli
from caseledger.cli.transitions import ALLOWED_BY_STATUS, COMMAND_NAMES
from caseledger.ledger.case.stages import ALLOWED, Command, Status
from caseledger.nodes.service.server import RunningNode
from tests.cli.clerk import published, running_node, submitted
from tests.cli.fakes import CASE_NUMBER, FakeLedger, rich_error
from tests.cli.test_cli_end_to_end import Operator

_NOT_ON_A_CASE = {Command.SUBMIT, Command.ACCEPT_TRANSFER, Command.REJECT_TRANSFER}


@pytest.fixture
def node(tmp_path: Path) -> Iterator[RunningNode]:
    yield from running_node(tmp_path / "node")


def test_every_case_subcommand_is_named_for_its_ledger_command() -> None:
    assert set(COMMAND_NAMES) == {c.value for c in Command} - {c.value for c in _NOT_ON_A_CASE}
    subcommands = set(cli.commands["case"].commands)  # type: ignore[attr-defined]
    assert set(COMMAND_NAMES.values()) <= subcommands


@pytest.mark.parametrize("status", list(Status), ids=lambda s: s.value)
def test_the_command_lines_table_is_the_ledgers(status: Status) -> None:
    ledger = {
        COMMAND_NAMES[command.value]
        for command, statuses in ALLOWED.items()
        if status in statuses and command not in _NOT_ON_A_CASE
    }
    assert set(ALLOWED_BY_STATUS[status.value]) == ledger


def refused(command: str, status: str, reason: str) -> str:
    info = error_details_pb2.ErrorInfo(
        reason="ILLEGAL_TRANSITION",
        domain="caseledger.v1",
        metadata={"command": command, "status": status},
    )
    failure = error_details_pb2.PreconditionFailure(
        violations=[
            error_details_pb2.PreconditionFailure.Violation(
                type="TRANSITION", subject=command, description=reason
            )
        ]
    )
    error = rich_error(grpc.StatusCode.FAILED_PRECONDITION, "refused", info, failure)
    ledger = FakeLedger(answers={"Rate": error})
    result = CliRunner().invoke(
        cli,
        ["case", "rate", CASE_NUMBER, "--satisfaction", "1", "--channel", "sms"],
        obj=ledger.connect,
    )
    assert result.exit_code == 5
    return result.stderr


def test_a_refusal_shows_the_reason_the_status_and_the_next_actions() -> None:
    lines = refused("rate", "concluded", "the case was already rated").splitlines()
    assert lines == [
        "not allowed: the case was already rated",
        "  reason: ILLEGAL_TRANSITION (command rate, status concluded)",
        "  case status: 已办结 concluded",
        "  this status allows: certificate, mail, collect, delivered, rectify, transfer",
    ]


def test_a_case_that_is_over_allows_nothing() -> None:
    stderr = refused("rate", "withdrawn", "not allowed in this status")
    assert "  case status: 已撤件 withdrawn" in stderr
    assert "  this status allows: none (the case is over)" in stderr


def test_a_status_this_command_line_does_not_know_is_still_named() -> None:
    stderr = refused("rate", "archived", "not allowed in this status")
    assert "  case status: archived" in stderr
    assert "this status allows" not in stderr


def test_a_node_refusal_end_to_end_names_the_status_and_what_it_allows(
    node: RunningNode, tmp_path: Path
) -> None:
    run = Operator(node.address)
    published(run, tmp_path)
    number = submitted(run)
    run.ok("case", "withdraw", number, "--reason", "申请人撤回")
    result = run("case", "rate", number, "--satisfaction", "1", "--channel", "sms")
    assert result.exit_code == 5
    assert result.stderr.splitlines() == [
        "not allowed: not allowed in this status",
        "  reason: ILLEGAL_TRANSITION (command rate, status withdrawn)",
        "  case status: 已撤件 withdrawn",
        "  this status allows: none (the case is over)",
    ]


def test_a_guard_refusal_end_to_end_lists_the_other_commands_of_the_status(
    node: RunningNode, tmp_path: Path
) -> None:
    run = Operator(node.address)
    published(run, tmp_path)
    number = submitted(run)
    run.ok("case", "accept", number, "--notice-no", "N1")
    run.ok("case", "extend", number, "--approved-by", "局长", "--reason", "需要现场核查")
    result = run("case", "extend", number, "--approved-by", "局长", "--reason", "再次")
    assert result.exit_code == 5
    assert "the deadline may be extended only once" in result.stderr
    assert "  case status: 已受理 accepted" in result.stderr
    assert "  this status allows: step, special-start, suspend, conclude, withdraw, transfer" in (
        result.stderr
    )


def test_pre_review_is_offered_for_online_submissions_only() -> None:
    lines = refused(
        "accept", "submitted", "required materials missing: 营业执照复印件"
    ).splitlines()
    assert lines[-1] == (
        "  this status allows: pre-review-pass (online submissions), "
        "pre-review-return (online submissions), request-correction, refuse, withdraw, transfer"
    )
