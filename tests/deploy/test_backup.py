"""A SQLite node backed up while its clerks append (docker/backup-node.sh), and
restored as the operator's section of the README says: the restored node
serves every case acknowledged before the backup began, every trail verifying,
nothing in quarantine, and takes new cases."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy.compose_file import DOCKER
from tests.faults.clerks import Clerks
from tests.faults.holdings import assert_acknowledged_and_verified, assert_nothing_quarantined
from tests.faults.network import TOWNSHIP, LinkedNetwork
from tests.nodes import requests as rq

_BEFORE = 60  # acknowledged appends before the backup
_DURING = 30  # and after it began


@pytest.fixture
def network(tmp_path: Path) -> Iterator[LinkedNetwork]:
    built = LinkedNetwork(tmp_path, {TOWNSHIP: "解放路街道"})
    yield built
    built.close()


def test_a_node_restored_from_its_online_backup_serves_every_case_backed_up(
    network: LinkedNetwork, tmp_path: Path
) -> None:
    data = network.config(TOWNSHIP).data_dir
    backup = tmp_path / "backup"
    network.start()
    network.stub(TOWNSHIP).PublishItem(rq.publish_item(), timeout=30)
    clerks = Clerks(network.addresses[TOWNSHIP])
    clerks.wait_for_more(_BEFORE, "appends before the backup")
    backed_up = clerks.so_far()
    done = subprocess.run(
        ["sh", str(DOCKER / "backup-node.sh"), str(data), str(backup)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    clerks.wait_for_more(_DURING, "appends after the backup")
    clerks.stop()
    network.node(TOWNSHIP).stop()

    # The restore: the node stopped, its data folder emptied, the backup copied in.
    shutil.rmtree(data)
    data.mkdir()
    restore = subprocess.run(
        ["sh", "-c", 'cp -p "$1"/* "$2"/', "restore", str(backup), str(data)], check=False
    )
    assert restore.returncode == 0
    network.node(TOWNSHIP).start()

    stub = network.stub(TOWNSHIP)
    assert_acknowledged_and_verified(stub, backed_up)
    assert_nothing_quarantined(stub)
    again = Clerks(network.addresses[TOWNSHIP])
    again.wait_for_more(10, "appends at the restored node")
    assert_acknowledged_and_verified(stub, again.stop())
