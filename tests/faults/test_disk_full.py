"""A node's disk full: its data folder on a small filesystem of its own (tmpfs,
mounted for the test) filled to the last byte while clerks work.

Every append the full disk cannot take is refused RESOURCE_EXHAUSTED
(STORE_FULL) with a message that says so, and nothing of it is written; the
node keeps running, and once space is freed it takes appends again, every
acknowledged case there and verifying.
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from tests.faults.holdings import (
    assert_acknowledged_and_verified,
    assert_nothing_quarantined,
    holdings,
)
from tests.faults.network import TOWNSHIP, LinkedNetwork
from tests.nodes import requests as rq

_SIZE = "16m"  # the node's filesystem: its stores start in far less
_CALL_TIMEOUT = 30.0
_TRIES = 200  # appends tried on the full disk before one must be refused


def _fill(folder: Path) -> Path:
    """A ballast file taking every free byte of `folder`'s filesystem."""
    ballast = folder / "ballast"
    # Large writes first, then single bytes for what a large one could not take.
    for chunk in (b"\0" * 65536, b"\0"):
        assert _write_until_refused(ballast, chunk) == errno.ENOSPC
    return ballast


def _write_until_refused(path: Path, chunk: bytes) -> int | None:
    """Append `chunk` to `path` until the system refuses; the refusal's errno."""
    with path.open("ab", buffering=0) as out:
        try:
            while True:
                out.write(chunk)
        except OSError as error:
            return error.errno


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / TOWNSHIP
    (folder / "data").mkdir(parents=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={_SIZE}", "caseledger-full", str(folder / "data")],
        check=True,
    )
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder / "data")], check=False)


@pytest.fixture
def network(tmp_path: Path, small_disk: Path) -> Iterator[LinkedNetwork]:
    built = LinkedNetwork(tmp_path, {TOWNSHIP: "解放路街道"})
    assert built.config(TOWNSHIP).data_dir == small_disk / "data"
    yield built
    built.close()


def test_a_full_disk_refuses_appends_resource_exhausted_and_the_node_serves_once_freed(
    network: LinkedNetwork,
) -> None:
    network.start()
    stub = network.stub(TOWNSHIP)
    stub.PublishItem(rq.publish_item(), timeout=_CALL_TIMEOUT)
    acknowledged: dict[str, int] = {}
    for _ in range(20):
        done = stub.Submit(rq.submit(), timeout=_CALL_TIMEOUT).result
        acknowledged[done.case_number] = done.version
    config = network.config(TOWNSHIP)
    with holdings(config) as held:
        before = len(held.authored())

    ballast = _fill(config.data_dir)
    refused: grpc.RpcError | None = None
    taken = 0
    for _ in range(_TRIES):
        try:
            done = stub.Submit(rq.submit(), timeout=_CALL_TIMEOUT).result
        except grpc.RpcError as error:
            refused = error
            break
        acknowledged[done.case_number] = done.version
        taken += 1
    assert refused is not None, f"{_TRIES} appends taken on a full disk"
    assert refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, refused
    assert "disk" in (refused.details() or "")
    status = rpc_status.from_call(refused)  # type: ignore[arg-type]
    assert status is not None
    info = error_details_pb2.ErrorInfo()
    status.details[0].Unpack(info)
    assert info.reason == "STORE_FULL"
    # Refused again, the node still running.
    with pytest.raises(grpc.RpcError) as again:
        stub.Submit(rq.submit(), timeout=_CALL_TIMEOUT)
    assert again.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert not network.node(TOWNSHIP).died()
    # What it holds it still shows.
    case = next(iter(acknowledged))
    shown = stub.GetCase(rq.get_case(case), timeout=_CALL_TIMEOUT)
    assert shown.case.case_number == case

    os.remove(ballast)
    with holdings(config) as held:
        assert len(held.authored()) == before + taken, "a refused append left an event"
    for _ in range(20):
        done = stub.Submit(rq.submit(), timeout=_CALL_TIMEOUT).result
        acknowledged[done.case_number] = done.version
    assert_acknowledged_and_verified(stub, acknowledged)
    assert_nothing_quarantined(stub)
