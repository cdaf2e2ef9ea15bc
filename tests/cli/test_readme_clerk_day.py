"""The README's "A clerk's day" runs as written, command by command, against a node."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest

from caseledger.nodes.service.server import RunningNode
from tests.cli.clerk import running_node
from tests.cli.test_cli_end_to_end import Operator
from tests.cli.test_report_commands import _caught_up
from tests.timing import wait_for

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## A clerk's day"
CASE_NUMBER = re.compile(r"\b\d{26}\b")
PLACEHOLDER = "CASE-NUMBER"
"""Where a line says `<case number>`: the number the submission printed."""


@pytest.fixture
def node(tmp_path: Path) -> Iterator[RunningNode]:
    yield from running_node(tmp_path / "node")


def commands() -> list[list[str]]:
    """The section's command lines, continuations joined, without `caseledger`."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index(SECTION) :]
    section = section[: section.index("\n## ", len(SECTION))]
    lines = [line[4:] for line in section.splitlines() if line.startswith("    ")]
    joined: list[str] = []
    for line in lines:
        if joined and joined[-1].endswith("\\"):
            joined[-1] = joined[-1][:-1] + " " + line.strip()
        else:
            joined.append(line.strip())
    parsed = [shlex.split(line.replace("<case number>", PLACEHOLDER)) for line in joined]
    assert all(words[0] == "caseledger" for words in parsed), parsed
    return [words[1:] for words in parsed]


def test_the_readme_walks_a_clerk_through_a_day(
    node: RunningNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)  # the example item file is named from the repository's root
    run = Operator(node.address)
    number = ""
    ran = []
    for line in commands():
        words = [number if word == PLACEHOLDER else word for word in line]
        if words[:2] == ["case", "list"]:
            wait_for(lambda: _caught_up(node.address), "the views caught up")
        role = "catalogue_admin" if words[:2] == ["catalogue", "publish"] else "window_clerk"
        output = run.ok(*words, role=role).stdout
        if words[:2] == ["case", "submit"]:
            number = CASE_NUMBER.findall(output)[0]
        if words[:2] in (["case", "search"], ["case", "list"], ["case", "show"]):
            assert number in output, (words, output)
        ran.append(" ".join(words[:2]))
    assert ran.count("case accept") == 1
    assert "case search" in ran
    assert "catalogue list" in ran
