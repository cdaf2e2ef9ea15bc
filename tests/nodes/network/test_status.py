"""`caseledger network status`: a table naming what is wrong, exit status 1 while
anything is, and a precise message for a bad argument."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.nodes.processes import NodeProcess, free_ports, write_network
from tests.pki import shared_pki

TOWNSHIP = "370102001000"
COUNTY = "370102000000"


def _status(*args: str) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "caseledger"), "network", "status", *args]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)


def test_the_table_names_a_node_that_does_not_answer_and_the_exit_status_says_so(
    tmp_path: Path,
) -> None:
    ports = free_ports(2)
    network = write_network(
        tmp_path, {COUNTY: ("历下区", ports[0]), TOWNSHIP: ("解放路街道", ports[1])}
    )
    county = NodeProcess(network, COUNTY, tmp_path / "county.log")
    county.start()
    try:
        done = _status(str(network), "--tls", str(shared_pki().client_folder()))
    finally:
        county.stop()
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    county_row = next(line for line in lines if line.startswith(COUNTY))
    township_row = next(line for line in lines if line.startswith(TOWNSHIP))
    assert " yes " in county_row
    assert " NO " in township_row
    assert f"node {TOWNSHIP} 解放路街道 at 127.0.0.1:{ports[1]} not answering" in done.stdout


def test_a_malformed_metrics_port_is_refused_with_how_to_write_it(tmp_path: Path) -> None:
    (port,) = free_ports(1)
    network = write_network(tmp_path, {TOWNSHIP: ("解放路街道", port)})
    done = _status(str(network), "--metrics", f"{TOWNSHIP}:9100")
    assert done.returncode == 2
    assert "write CODE=PORT" in done.stderr
