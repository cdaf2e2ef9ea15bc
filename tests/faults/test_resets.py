"""Connections between a township and its county reset mid-stream (TCP RST),
again and again, while the township's clerks append.

The county follows the township's log over a gRPC stream through a proxy.
While the stream flows, the proxy drops the next chunk the township sends and
resets the connection, so the stream breaks wherever the township was in a
batch; then the link is sound again. Each time the county asks again after
the position it recorded; once the link is sound again it holds every event of
the township's log exactly once, in the township's order (a stream resumed
one position early would store one twice, one late would leave a hole), and
every trail verifies at both nodes.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.faults.clerks import Clerks
from tests.faults.holdings import (
    Holdings,
    assert_acknowledged_and_verified,
    assert_nothing_quarantined,
    assert_received_once_in_order,
    holdings,
    holds_all_of,
)
from tests.faults.logs import logged
from tests.faults.network import COUNTY, TOWNSHIP, LinkedNetwork
from tests.faults.toxiproxy import ResetPeer
from tests.nodes import requests as rq
from tests.timing import wait_for

pytestmark = pytest.mark.toxiproxy

_RESETS = 8  # streams reset mid-flow
_STEP = 20  # events that come through between two resets


@pytest.fixture
def network(township_and_county: LinkedNetwork) -> LinkedNetwork:
    return township_and_county


def _broken_streams(network: LinkedNetwork) -> int:
    log = network.node(COUNTY).log
    return sum(1 for r in logged(log, "source unreachable") if r.get("source") == TOWNSHIP)


def _holding_more(county: Holdings, events: int) -> Callable[[], bool]:
    target = len(county.stored()) + events
    return lambda: len(county.stored()) >= target


def _broken_again(network: LinkedNetwork) -> Callable[[], bool]:
    broken = _broken_streams(network)
    return lambda: _broken_streams(network) > broken


def test_a_log_stream_reset_mid_batch_resumes_at_the_next_position(
    network: LinkedNetwork,
) -> None:
    network.start()
    network.stub(TOWNSHIP).PublishItem(rq.publish_item(), timeout=30)
    clerks = Clerks(network.addresses[TOWNSHIP])
    with (
        holdings(network.config(TOWNSHIP)) as township,
        holdings(network.config(COUNTY)) as county,
    ):
        wait_for(lambda: len(county.stored()) >= _STEP, "appends to reach the county")
        link = network.proxy(COUNTY, TOWNSHIP)
        for _ in range(_RESETS):
            wait_for(_holding_more(county, _STEP), "the stream to flow")
            # The next chunk of the stream is dropped and the connection reset:
            # a cut inside whatever the township was sending.
            reset = link.add(ResetPeer(0), stream="downstream")
            wait_for(_broken_again(network), "the county to see the reset")
            link.remove(reset)
        acknowledged = clerks.stop()
        assert clerks.failures == [], "the township's own clerks were never cut off"
        wait_for(lambda: holds_all_of(county, township), "the county to catch up", timeout=60)
        assert_received_once_in_order(county, township)
    for code in (TOWNSHIP, COUNTY):
        assert_nothing_quarantined(network.stub(code))
        assert_acknowledged_and_verified(network.stub(code), acknowledged)
