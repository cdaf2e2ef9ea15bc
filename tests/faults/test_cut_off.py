"""A township cut off from its ancestors, its county and its city, while its
clerks keep taking cases; on reconnection its backlog drains, in order.

Both ancestors follow the township's whole log directly (no relay), and the
township follows their catalogue, all through proxies. The proxies go down
(every open connection closed, new ones refused): the township keeps
answering its clerks, and neither ancestor receives anything more. Once the
links are back, each ancestor holds every event of the township once, in the
township's log order, nothing quarantined, and every trail verifies at all
three nodes.

What the operator sees while it lasts: each ancestor's metric
`caseledger_replication_lag_events{source="<township>"}` is unknown (NaN),
which is what `caseledger network up` reports as "lag unknown" for a source a
node cannot reach; once drained it is 0 again.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.faults.clerks import Clerks
from tests.faults.holdings import (
    assert_acknowledged_and_verified,
    assert_nothing_quarantined,
    assert_received_once_in_order,
    holdings,
    holds_all_of,
)
from tests.faults.network import CITY, COUNTY, TOWNSHIP, LinkedNetwork
from tests.faults.outage import OUTAGE_APPENDS, OUTAGE_WAIT
from tests.faults.toxiproxy import Toxiproxy
from tests.nodes import requests as rq
from tests.timing import wait_for

pytestmark = pytest.mark.toxiproxy

_ANCESTORS = (COUNTY, CITY)
_STEP = 100  # acknowledged appends at the township before and after the outage


@pytest.fixture
def network(tmp_path: Path, toxiproxy: Toxiproxy) -> Iterator[LinkedNetwork]:
    built = LinkedNetwork(
        tmp_path,
        {TOWNSHIP: "解放路街道", COUNTY: "历下区", CITY: "济南市"},
        links=[(a, TOWNSHIP) for a in _ANCESTORS] + [(TOWNSHIP, a) for a in _ANCESTORS],
        toxiproxy=toxiproxy,
    )
    yield built
    built.close()


def test_a_township_cut_off_keeps_accepting_and_drains_in_order_on_reconnection(
    network: LinkedNetwork,
) -> None:
    network.start()
    network.stub(TOWNSHIP).PublishItem(rq.publish_item(), timeout=30)
    clerks = Clerks(network.addresses[TOWNSHIP])
    with (
        holdings(network.config(TOWNSHIP)) as township,
        holdings(network.config(COUNTY)) as county,
        holdings(network.config(CITY)) as city,
    ):
        ancestors = (county, city)
        clerks.wait_for_more(_STEP, "appends at the township")
        wait_for(lambda: all(len(a.stored()) > 0 for a in ancestors), "the ancestors to follow")
        assert not any(_lag_unknown(network, code) for code in _ANCESTORS)
        for link in network.proxies.values():
            link.down()
        clerks.wait_for_more(OUTAGE_APPENDS, "appends at the cut-off township", timeout=OUTAGE_WAIT)
        for code in _ANCESTORS:
            wait_for(partial(_lag_unknown, network, code), f"{code} to show the outage")
        held = [len(a.stored()) for a in ancestors]
        clerks.wait_for_more(
            OUTAGE_APPENDS, "more appends at the cut-off township", timeout=OUTAGE_WAIT
        )
        assert [len(a.stored()) for a in ancestors] == held, "an ancestor received while cut off"
        assert all(_lag_unknown(network, code) for code in _ANCESTORS), "the outage went unseen"
        assert clerks.failures == [], "the township stopped answering its clerks"
        for link in network.proxies.values():
            link.up()
        clerks.wait_for_more(_STEP, "appends at the reconnected township")
        acknowledged = clerks.stop()
        assert clerks.failures == [], "the township stopped answering its clerks"
        for name, ancestor in zip(("county", "city"), ancestors, strict=True):
            wait_for(partial(holds_all_of, ancestor, township), f"the {name} to drain it")
            assert_received_once_in_order(ancestor, township)
        for code in _ANCESTORS:
            wait_for(partial(_lag_is, network, code, 0.0), f"{code}'s lag to come back to 0")
    for code in (TOWNSHIP, *_ANCESTORS):
        assert_nothing_quarantined(network.stub(code))
        assert_acknowledged_and_verified(network.stub(code), acknowledged)


def _lag(network: LinkedNetwork, code: str) -> float | None:
    """Node `code`'s replication lag from the township, as its metrics give it."""
    for family in text_string_to_metric_families(network.metrics(code)):
        if family.name == "caseledger_replication_lag_events":
            for sample in family.samples:
                if sample.labels.get("source") == TOWNSHIP:
                    return sample.value
    return None


def _lag_unknown(network: LinkedNetwork, code: str) -> bool:
    lag = _lag(network, code)
    return lag is not None and math.isnan(lag)


def _lag_is(network: LinkedNetwork, code: str, value: float) -> bool:
    return _lag(network, code) == value
