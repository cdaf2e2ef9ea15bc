"""docker/node-health.py, the compose file's health check of a node: SERVING
from a node that answers over mutual TLS, a failure once it is gone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.deploy.compose_file import DOCKER
from tests.nodes.processes import NodeProcess, free_ports, write_network

TOWNSHIP = "370102001000"


def _probe(network: Path, code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(DOCKER / "node-health.py"), str(network), code],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_health_check_passes_while_the_node_serves_and_fails_once_it_is_gone(
    tmp_path: Path,
) -> None:
    (port,) = free_ports(1)
    network = write_network(tmp_path, {TOWNSHIP: ("解放路街道", port)})
    node = NodeProcess(network, TOWNSHIP, tmp_path / "node.log")
    node.start()
    try:
        serving = _probe(network, TOWNSHIP)
        assert serving.returncode == 0, serving.stderr
    finally:
        node.stop()
    gone = _probe(network, TOWNSHIP)
    assert gone.returncode == 1
    assert f"{TOWNSHIP} at 127.0.0.1:{port}: UNAVAILABLE" in gone.stderr


def test_the_health_check_names_a_node_the_network_file_does_not_list(tmp_path: Path) -> None:
    (port,) = free_ports(1)
    network = write_network(tmp_path, {TOWNSHIP: ("解放路街道", port)})
    refused = _probe(network, "370124102000")
    assert refused.returncode == 1
    assert "370124102000" in refused.stderr
