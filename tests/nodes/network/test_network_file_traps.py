"""The traps an operator met writing a network file: a mistyped code that hangs a
township under the province, the README's Cassandra store example, a replication
factor the cluster cannot meet, and drop-keyspaces on the file written by hand."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

from caseledger.nodes.network.file import NetworkFileError, parse_network
from tests.nodes.processes import free_ports, write_network
from tests.timing import scaled

_README = Path(__file__).parents[3] / "README.md"
_PROVINCE, _CITY, _TOWNSHIP = "370000000000", "370100000000", "370102001000"
_TYPO = "370302001000"  # 370102001000 with one digit wrong: a township of Zibo
_WAIT = scaled(120.0)


def _file(*nodes: tuple[str, str], extra: dict[str, str] | None = None) -> str:
    lines = ["network: traps", "nodes:"]
    for port, (code, name) in enumerate(nodes, start=50300):
        lines += [f'  - code: "{code}"', f"    name: {name}", f"    address: 127.0.0.1:{port}"]
        for key, value in (extra or {}).items() if code == nodes[-1][0] else ():
            lines.append(f"    {key}: {value}")
    return "\n".join(lines) + "\n"


def _problems(text: str) -> list[str]:
    with pytest.raises(NetworkFileError) as refused:
        parse_network(text)
    return list(refused.value.problems)


def test_a_township_whose_nearest_listed_node_is_the_province_is_refused_naming_both() -> None:
    problems = _problems(_file((_PROVINCE, "山东省"), (_CITY, "济南市"), (_TYPO, "解放路街道")))
    assert problems == [
        f"line 9: nodes[2] ({_TYPO} 解放路街道) code: {_TYPO}'s nearest listed node is "
        f"nodes[0] ({_PROVINCE} 山东省), a province, not the county directly above it "
        f'(370302000000): check the code, or, if it is meant, write parent: "{_PROVINCE}"'
    ]


def test_a_township_under_the_province_is_taken_when_its_parent_says_so() -> None:
    text = _file((_PROVINCE, "山东省"), (_TYPO, "某镇"), extra={"parent": f'"{_PROVINCE}"'})
    network = parse_network(text)
    parent = network.parent_of(_TYPO)
    assert parent is not None
    assert parent.code == _PROVINCE


def test_a_parent_that_is_not_the_nearest_listed_ancestor_is_refused() -> None:
    text = _file(
        (_PROVINCE, "山东省"), (_CITY, "济南市"), (_TOWNSHIP, "解放路街道"),
        extra={"parent": f'"{_PROVINCE}"'},
    )  # fmt: skip
    (problem,) = _problems(text)
    assert problem.endswith(
        f"parent: {_PROVINCE} is not {_TOWNSHIP}'s nearest listed ancestor; that is {_CITY} "
        "(a node hangs under its nearest listed ancestor)"
    )


def _readme_store() -> dict[str, object]:
    """The store line of the README's Stores section, exactly as written there."""
    match = re.search(r"^ {4}(store: \{kind: cassandra[^\n]*)$", _README.read_text(), re.M)
    assert match is not None, "the README shows a Cassandra store"
    found: dict[str, object] = yaml.safe_load(match.group(1))["store"]
    return found


def test_the_readme_cassandra_store_loads_and_takes_its_cluster_from_the_environment() -> None:
    store = yaml.safe_dump(_readme_store(), default_flow_style=True).strip()
    network = parse_network(_file((_PROVINCE, "山东省"), extra={"store": store}))
    config = network.to_node_config(_PROVINCE)
    env = config.persistence_env(environ={"CASELEDGER_CASSANDRA": "10.1.2.3:9042"})
    assert env["CASSANDRA_CONTACT_POINTS"] == "10.1.2.3:9042"
    assert env["CASSANDRA_KEYSPACE"] == "shandong"


def _serve(network: Path, code: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "caseledger.nodes", "serve", "--network", str(network),
         "--code", code],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _drop(network: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "caseledger.nodes", "network", "drop-keyspaces", str(network),
         "--yes"],
        check=False, capture_output=True, timeout=_WAIT,
    )  # fmt: skip


@pytest.mark.cassandra
def test_a_node_on_the_readme_cassandra_store_starts_as_written(tmp_path: Path) -> None:
    store = _readme_store() | {"keyspace": f"readme_{uuid.uuid4().hex[:8]}"}  # a run of its own
    (port,) = free_ports(1)
    network = write_network(tmp_path, {_PROVINCE: ("山东省", port)}, stores={_PROVINCE: store})
    node = _serve(network, _PROVINCE)
    try:
        assert node.stdout is not None
        line = node.stdout.readline()
        assert line.startswith("LISTENING"), node.stderr.read() if node.stderr else ""
    finally:
        node.terminate()
        node.wait(timeout=_WAIT)
        _drop(network)


@pytest.mark.cassandra
def test_a_replication_factor_the_cluster_cannot_meet_is_named_as_such(tmp_path: Path) -> None:
    # The test cluster is one node: LOCAL_QUORUM of three replicas needs two.
    store = {"kind": "cassandra", "keyspace": f"rf3_{uuid.uuid4().hex[:8]}",
             "replication_factor": 3}  # fmt: skip
    (port,) = free_ports(1)
    network = write_network(tmp_path, {_PROVINCE: ("山东省", port)}, stores={_PROVINCE: store})
    node = _serve(network, _PROVINCE)
    try:
        _, errors = node.communicate(timeout=_WAIT)
    finally:
        if node.poll() is None:
            node.kill()
        _drop(network)
    assert node.returncode == 1
    assert re.search(
        r"cannot meet consistency LOCAL_(QUORUM|SERIAL): it needs 2 live replica\(s\) of the "
        r"data and has 1",
        errors,
    ), errors
    assert "unreachable" not in errors
    assert "Traceback" not in errors


def test_drop_keyspaces_lists_the_cassandra_nodes_of_a_hand_written_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    text = _file((_PROVINCE, "山东省"), (_CITY, "济南市"))
    path.write_text(text.replace("nodes:", "defaults: {store: cassandra}\nnodes:"), "utf-8")
    listed = subprocess.run(
        [sys.executable, "-m", "caseledger.nodes", "network", "drop-keyspaces", str(path)],
        check=False, capture_output=True, text=True, timeout=_WAIT,
        env={"PATH": "/usr/bin:/bin", "CASELEDGER_CASSANDRA": "127.0.0.1:1"},
    )  # fmt: skip
    assert listed.returncode == 2  # nothing dropped without --yes
    assert listed.stdout.splitlines() == [
        f"would drop keyspace caseledger_{_PROVINCE} at 127.0.0.1:1 (node {_PROVINCE} 山东省)",
        f"would drop keyspace caseledger_{_CITY} at 127.0.0.1:1 (node {_CITY} 济南市)",
    ]


def test_drop_keyspaces_on_a_file_without_cassandra_says_there_is_none(tmp_path: Path) -> None:
    path = tmp_path / "sqlite.yaml"
    path.write_text(_file((_PROVINCE, "山东省")), "utf-8")
    listed = subprocess.run(
        [sys.executable, "-m", "caseledger.nodes", "network", "drop-keyspaces", str(path)],
        check=False, capture_output=True, text=True, timeout=_WAIT,
    )  # fmt: skip
    assert listed.returncode == 2
    assert listed.stdout == ""
    assert "no node of" in listed.stderr
    assert "network.yaml" in listed.stderr
