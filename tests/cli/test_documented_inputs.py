"""The item file format and the identifiers a clerk types are documented where they are used."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from caseledger.cli.catalogue import read_item_file
from caseledger.cli.main import cli
from caseledger.ledger.codes.identifiers import ItemImplementationCode
from caseledger.nodes.service.server import RunningNode
from tests.cli.clerk import running_node
from tests.cli.test_cli_end_to_end import Operator

DOCS = Path(__file__).resolve().parents[2] / "docs"
EXAMPLE = DOCS / "examples" / "item.yaml"


@pytest.fixture
def node(tmp_path: Path) -> Iterator[RunningNode]:
    yield from running_node(tmp_path / "node")


def helped(*args: str) -> str:
    result = CliRunner().invoke(cli, [*args, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def test_the_shipped_example_item_publishes_and_reads_back(node: RunningNode) -> None:
    run = Operator(node.address)
    published = run.json("catalogue", "publish", str(EXAMPLE))
    assert published["version"] == 1
    document = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    assert run.json("catalogue", "show", document["implementation_code"]) == document


def test_the_example_code_is_a_valid_implementation_code_with_its_check_character() -> None:
    code = read_item_file(EXAMPLE).implementation_code
    assert str(ItemImplementationCode.parse(code)) == code


def test_publish_help_points_to_the_format_and_the_example_and_names_every_field() -> None:
    text = helped("catalogue", "publish")
    assert "docs/items.md" in text
    assert "docs/examples/item.yaml" in text
    for field in yaml.safe_load(EXAMPLE.read_text(encoding="utf-8")):
        assert field in text, field


def test_the_format_page_documents_every_field_and_identifier() -> None:
    page = (DOCS / "items.md").read_text(encoding="utf-8")
    assert "examples/item.yaml" in page
    for field in yaml.safe_load(EXAMPLE.read_text(encoding="utf-8")):
        assert f"`{field}`" in page, field
    for identifier in ("31 characters", "26 digits", "1.2.156.3005.2", "check character"):
        assert identifier in page


@pytest.mark.parametrize(
    ("command", "words"),
    [
        (("case", "submit"), "31 characters"),
        (("case", "submit"), "check character"),
        (("case", "certificate"), "1.2.156.3005.2.<type>.<issuer credit code>"),
        (("case", "accept"), "26-digit case number"),
        (("case", "show"), "26-digit case number"),
        (("case",), "26-digit case number"),
        (("case", "transfer"), "12-digit division code"),
        (("catalogue", "show"), "31 characters"),
        (("case", "search"), "GB 11643, 18 characters"),
        (("case", "search"), "check character"),
        (("case", "list"), "12-digit division code"),
    ],
)
def test_options_that_take_an_identifier_say_its_format(
    command: tuple[str, ...], words: str
) -> None:
    assert words in helped(*command)
