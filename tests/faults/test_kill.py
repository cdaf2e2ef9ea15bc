"""A township's node killed outright (SIGKILL, as a power cut leaves it) in the
middle of sustained appends, three times over, and started again each time.

Its clerks keep appending until the node stops answering; what it answered
for was durable (fsynced before the answer), so after every restart each
acknowledged append is there, and its county, which follows the township's
log all along, ends with every event once, in log order, every trail
verifying at both nodes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.clerks import Clerks
from tests.faults.holdings import (
    assert_acknowledged_and_verified,
    assert_nothing_quarantined,
    assert_received_once_in_order,
    holdings,
    holds_all_of,
)
from tests.faults.network import COUNTY, TOWNSHIP, LinkedNetwork
from tests.nodes import requests as rq
from tests.timing import wait_for

_KILLS = 3
_STEP = 30  # acknowledged appends between two kills


@pytest.fixture
def network(tmp_path: Path) -> Iterator[LinkedNetwork]:
    built = LinkedNetwork(tmp_path, {TOWNSHIP: "解放路街道", COUNTY: "历下区"})
    yield built
    built.close()


def test_a_node_killed_mid_append_keeps_every_acknowledged_append(
    network: LinkedNetwork,
) -> None:
    network.start()
    network.stub(TOWNSHIP).PublishItem(rq.publish_item(), timeout=30)
    acknowledged: dict[str, int] = {}
    for _ in range(_KILLS):
        clerks = Clerks(network.addresses[TOWNSHIP])
        clerks.wait_for_more(_STEP, "appends before the kill")
        network.node(TOWNSHIP).kill()  # the clerks are mid-call
        acknowledged |= clerks.stop()
        network.node(TOWNSHIP).start()
        # Straight after the restart, before anything else appends.
        assert_acknowledged_and_verified(network.stub(TOWNSHIP), acknowledged)
    with (
        holdings(network.config(TOWNSHIP)) as township,
        holdings(network.config(COUNTY)) as county,
    ):
        wait_for(lambda: holds_all_of(county, township), "the county to catch up", timeout=60)
        assert_received_once_in_order(county, township)
    for code in (TOWNSHIP, COUNTY):
        assert_nothing_quarantined(network.stub(code))
        assert_acknowledged_and_verified(network.stub(code), acknowledged)
