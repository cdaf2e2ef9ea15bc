"""One node per port and one process per node store: a second one is refused, named."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from caseledger.nodes.config import NodeConfig
from caseledger.nodes.service.server import start
from caseledger.nodes.store_lock import StoreLocked, lock_file, lock_store
from tests.nodes.processes import NodeProcess, free_ports, write_network
from tests.pki import secured
from tests.timing import scaled

_CITY, _DISTRICT = "370100000000", "370102000000"
_WAIT = scaled(60.0)


def _caseledger() -> list[str]:
    """The installed `caseledger` command, or the same entry point under this interpreter."""
    found = shutil.which("caseledger")
    return [found] if found else [sys.executable, "-m", "caseledger.cli.main"]


def test_a_second_node_on_a_bound_port_fails_to_start_naming_it(tmp_path: Path) -> None:
    first = start(secured(NodeConfig(code=_CITY, data_dir=tmp_path / "city")))
    try:
        taken = f"127.0.0.1:{first.port}"
        with pytest.raises(RuntimeError, match=taken):
            start(secured(NodeConfig(code=_DISTRICT, listen=taken, data_dir=tmp_path / "d")))
    finally:
        first.stop()


def test_node_serve_on_a_bound_port_exits_non_zero_naming_the_port(tmp_path: Path) -> None:
    (port,) = free_ports(1)
    network = write_network(tmp_path, {_CITY: ("济南市", port)})
    first = NodeProcess(network, _CITY, tmp_path / "city.log")
    first.start()
    # Another network's node, listed on the same port.
    other = write_network(tmp_path / "other", {_DISTRICT: ("历下区", port)})
    try:
        second = subprocess.run(
            [*_caseledger(), "node", "serve", "--network", str(other), "--code", _DISTRICT],
            check=False, capture_output=True, text=True, timeout=_WAIT,
        )  # fmt: skip
    finally:
        first.stop()
    assert second.returncode != 0
    assert f"port {port} is in use" in second.stderr
    assert "Traceback" not in second.stderr
    assert "LISTENING" not in second.stdout


def test_a_second_serve_of_one_node_is_refused_naming_the_holder(tmp_path: Path) -> None:
    port, other = free_ports(2)
    network = write_network(tmp_path, {_CITY: ("济南市", port)})
    first = NodeProcess(network, _CITY, tmp_path / "city.log")
    first.start()
    try:
        assert first.process is not None
        # The same node and data folder in a network file listing another port:
        # only the lock stands in the way.
        moved = write_network(tmp_path / "moved", {_CITY: ("济南市", other)})
        moved.write_text(
            moved.read_text().replace(str(tmp_path / "moved" / "data"), str(tmp_path / "data"))
        )
        second = subprocess.run(
            [*_caseledger(), "node", "serve", "--network", str(moved), "--code", _CITY],
            check=False, capture_output=True, text=True, timeout=_WAIT,
        )  # fmt: skip
        holder = first.process.pid
    finally:
        first.stop()
    assert second.returncode != 0
    assert f"in use by process {holder}" in second.stderr
    assert str(lock_file(tmp_path / "data", _CITY)) in second.stderr
    assert "Traceback" not in second.stderr


def test_the_store_lock_is_free_again_once_its_holder_is_killed(tmp_path: Path) -> None:
    (port,) = free_ports(1)
    network = write_network(tmp_path, {_CITY: ("济南市", port)})
    first = NodeProcess(network, _CITY, tmp_path / "city.log")
    first.start()
    first.kill()
    lock_store(tmp_path / "data", _CITY).release()


def test_the_store_lock_holds_the_pid_and_refuses_a_second_holder(tmp_path: Path) -> None:
    held = lock_store(tmp_path, _CITY)
    try:
        assert lock_file(tmp_path, _CITY).read_text().strip() == str(os.getpid())
        with pytest.raises(StoreLocked) as refused:
            lock_store(tmp_path, _CITY)
        assert refused.value.holder == str(os.getpid())
        lock_store(tmp_path, _DISTRICT).release()  # another node's lock is its own
    finally:
        held.release()
    lock_store(tmp_path, _CITY).release()
