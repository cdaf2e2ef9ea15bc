"""A half-open link between a township and its county: the connection stays
up but nothing gets through (Toxiproxy's timeout toxic, as a stateful firewall
or a dead radio link leaves it), then comes back to life.

While it lasts the county receives nothing and the township keeps answering
its clerks. When it lives again, the bytes dropped in flight break the stream
(TLS notices the hole), the county asks again after its recorded position and
ends with every event once, in the township's order, every trail verifying at
both nodes.
"""

from __future__ import annotations

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
from tests.faults.outage import OUTAGE_APPENDS, OUTAGE_WAIT
from tests.faults.toxiproxy import Timeout
from tests.nodes import requests as rq
from tests.timing import wait_for

pytestmark = pytest.mark.toxiproxy

_STEP = 100  # acknowledged appends at the township before and after the outage


@pytest.fixture
def network(township_and_county: LinkedNetwork) -> LinkedNetwork:
    return township_and_county


def test_a_half_open_link_resumes_at_the_next_position_when_it_lives_again(
    network: LinkedNetwork,
) -> None:
    network.start()
    network.stub(TOWNSHIP).PublishItem(rq.publish_item(), timeout=30)
    clerks = Clerks(network.addresses[TOWNSHIP])
    with (
        holdings(network.config(TOWNSHIP)) as township,
        holdings(network.config(COUNTY)) as county,
    ):
        clerks.wait_for_more(_STEP, "appends at the township")
        wait_for(lambda: len(county.stored()) > 0, "the county to follow")
        link = network.proxy(COUNTY, TOWNSHIP)
        # Timeout 0: the connection is held open and everything sent is dropped.
        dead = link.add(Timeout(0), stream="downstream")
        clerks.wait_for_more(OUTAGE_APPENDS, "appends over the half-open link", timeout=OUTAGE_WAIT)
        held = len(county.stored())
        clerks.wait_for_more(
            OUTAGE_APPENDS, "more appends over the half-open link", timeout=OUTAGE_WAIT
        )
        assert len(county.stored()) == held, "the county received over a dead link"
        link.remove(dead)
        clerks.wait_for_more(_STEP, "appends with the link alive again")
        acknowledged = clerks.stop()
        assert clerks.failures == [], "the township stopped answering its clerks"
        wait_for(lambda: holds_all_of(county, township), "the county to catch up", timeout=60)
        assert_received_once_in_order(county, township)
    for code in (TOWNSHIP, COUNTY):
        assert_nothing_quarantined(network.stub(code))
        assert_acknowledged_and_verified(network.stub(code), acknowledged)
