"""`caseledger import FILE`: refused lines by number, nothing imported twice,
and a run that dies resumes where it stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from caseledger.nodes.service.server import RunningNode
from tests.cli.clerk import APPLICATION, published, running_node
from tests.cli.test_cli_end_to_end import Operator
from tests.samples import CITIZEN_ID, FOOD_LICENCE
from tests.timing import scaled


@pytest.fixture
def node(tmp_path: Path) -> Iterator[RunningNode]:
    yield from running_node(tmp_path / "node")


@pytest.fixture
def run(node: RunningNode, tmp_path: Path) -> Operator:
    operator = Operator(node.address)
    published(operator, tmp_path)
    return operator


def line(record_id: str, id_number: str = CITIZEN_ID) -> str:
    return json.dumps(
        {
            "record_id": record_id,
            "item_code": FOOD_LICENCE,
            "channel": "window",
            "applicant": {"type": "natural-person", "name": "张三", "id_number": id_number},
            "materials": [{"name": "食品经营许可申请书", "sha256": APPLICATION}],
        },
        ensure_ascii=False,
    )


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(f"{text}\n" for text in lines), encoding="utf-8")
    return path


def events(node: RunningNode) -> int:
    return node.ledger.recorder.max_notification_id() or 0


def test_refused_lines_are_named_by_number_and_the_rest_imported(
    node: RunningNode, run: Operator, tmp_path: Path
) -> None:
    lines = [line(f"R{i}") for i in range(12)]
    lines[2] = "{not json"
    lines[6] = line("R6", id_number=CITIZEN_ID[:-1] + ("0" if CITIZEN_ID[-1] != "0" else "1"))
    lines[9] = json.dumps({"record_id": "R9", "channel": "window"})
    before = events(node)
    result = run("import", str(write(tmp_path / "cases.jsonl", lines)), "--batch", "4")
    assert result.exit_code == 4, result.output
    refused = [text for text in result.stderr.splitlines() if text.startswith("line ")]
    assert [text.split(":")[0] for text in refused] == ["line 3", "line 7", "line 10"]
    assert "not JSON" in refused[0]
    assert "applicant.id_number" in refused[1]
    assert "imported 9 records (18 events), 0 already on the node, 3 lines refused" in (
        result.stdout
    )
    assert events(node) - before == 18


def test_a_file_imported_again_from_its_start_imports_nothing_twice(
    node: RunningNode, run: Operator, tmp_path: Path
) -> None:
    path = write(tmp_path / "cases.jsonl", [line(f"R{i}") for i in range(10)])
    run.ok("import", str(path))
    before = events(node)
    again = run.ok("import", str(path), "--restart")
    assert "imported 0 records (0 events), 10 already on the node" in again.stdout
    assert events(node) == before


def test_a_finished_run_run_again_resumes_after_its_last_line(
    node: RunningNode, run: Operator, tmp_path: Path
) -> None:
    path = write(tmp_path / "cases.jsonl", [line(f"R{i}") for i in range(5)])
    run.ok("import", str(path))
    with path.open("a", encoding="utf-8") as file:
        file.write(line("R5") + "\n")
    more = run.ok("import", str(path))
    assert "resuming cases.jsonl after line 5" in more.stderr
    assert "imported 1 records (2 events), 0 already on the node" in more.stdout


def test_a_file_changed_before_the_point_a_run_reached_is_a_usage_error(
    run: Operator, tmp_path: Path
) -> None:
    path = write(tmp_path / "cases.jsonl", [line(f"R{i}") for i in range(3)])
    run.ok("import", str(path))
    write(path, [line(f"S{i}") for i in range(3)])
    result = run("import", str(path))
    assert result.exit_code == 2
    assert "--restart" in result.stderr


def test_a_run_killed_midway_resumes_and_every_record_is_imported_once(
    node: RunningNode, run: Operator, tmp_path: Path
) -> None:
    count = 400
    path = write(tmp_path / "cases.jsonl", [line(f"R{i}") for i in range(count)])
    progress = path.with_name(path.name + ".progress")
    before = events(node)
    dying = subprocess.Popen(
        [*_cli(), "--node", node.address, "import", str(path), "--batch", "10"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ,
    )
    deadline = time.monotonic() + scaled(60)
    while not progress.exists() and time.monotonic() < deadline and dying.poll() is None:
        time.sleep(0.01)
    dying.send_signal(signal.SIGKILL)
    dying.wait()
    reached = json.loads(progress.read_text())["line"]
    assert 0 < reached < count  # it died midway, after at least one batch
    resumed = run.ok("import", str(path))
    assert f"after line {reached}" in resumed.stderr
    # Every record once: its submission and the claim of its number, no more.
    assert events(node) - before == 2 * count


def _cli() -> list[str]:
    """The `caseledger` console script, run as a process of its own (to be killed)."""
    return [sys.executable, "-c", "from caseledger.cli.main import main; main()"]
