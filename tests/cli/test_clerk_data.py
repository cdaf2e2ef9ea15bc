"""Dates a clerk types are checked by the node, and a second receipt is named for what it is."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from caseledger.nodes.service.server import RunningNode
from tests.cli.clerk import (
    LICENCE_PDF,
    concluded,
    licence_id,
    published,
    running_node,
    submitted,
    today,
)
from tests.cli.test_cli_end_to_end import Operator


@pytest.fixture
def node(tmp_path: Path) -> Iterator[RunningNode]:
    yield from running_node(tmp_path / "node")


def mailed(run: Operator, folder: Path) -> str:
    published(run, folder)
    number = submitted(run)
    concluded(run, number)
    run.ok(
        "case", "certificate", number, "--licence-id", licence_id(7),
        "--file-sha256", LICENCE_PDF, "--valid-from", today().isoformat(),
    )  # fmt: skip
    run.ok("case", "mail", number, "--carrier", "EMS", "--tracking-no", "1100123456789",
           "--address", "济南市历下区解放路1号")  # fmt: skip
    return number


def test_a_receipt_in_the_future_exits_4_naming_the_field_and_today(
    node: RunningNode, tmp_path: Path
) -> None:
    run = Operator(node.address)
    number = mailed(run, tmp_path)
    tomorrow = (today() + timedelta(days=1)).isoformat()
    result = run("case", "delivered", number, "--signer", "张三", "--received-on", tomorrow)
    assert result.exit_code == 4
    assert result.stderr.splitlines()[:2] == [
        "invalid input:",
        f"  received_on: {tomorrow} is in the future (today is {today().isoformat()})",
    ]


def test_a_receipt_before_the_mailing_exits_4_naming_the_dispatch_day(
    node: RunningNode, tmp_path: Path
) -> None:
    run = Operator(node.address)
    number = mailed(run, tmp_path)
    yesterday = (today() - timedelta(days=1)).isoformat()
    result = run("case", "delivered", number, "--signer", "张三", "--received-on", yesterday)
    assert result.exit_code == 4
    assert f"  received_on: {yesterday} is before the dispatch on {today().isoformat()}" in (
        result.stderr
    )


def test_a_second_receipt_says_it_was_already_signed_for(node: RunningNode, tmp_path: Path) -> None:
    run = Operator(node.address)
    number = mailed(run, tmp_path)
    day = today().isoformat()
    run.ok("case", "delivered", number, "--signer", "张三", "--received-on", day)
    again = run("case", "delivered", number, "--signer", "张三", "--received-on", day)
    assert again.exit_code == 5
    assert again.stderr.splitlines()[0] == (
        f"not allowed: the mailed result was already signed for on {day}"
    )
    assert "nothing was dispatched" not in again.stderr
