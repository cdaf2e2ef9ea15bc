"""The Kafka broker out of reach for a while during replication over Kafka.

A township and its county replicate through a broker of the test's own that
every client reaches through a proxy (`fronted_broker`). The proxy goes down:
the township keeps answering its clerks, since an append is durable in its
own store before anything is published, and the county receives nothing. The
proxy comes back: the township publishes its backlog and the county ends with
every event once, in the township's log order, nothing quarantined, every
trail verifying at both nodes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from caseledger.nodes.replication.kafka_feed import TopicLayout
from tests.faults.clerks import Clerks
from tests.faults.fronted_broker import FrontedBroker
from tests.faults.holdings import (
    assert_acknowledged_and_verified,
    assert_nothing_quarantined,
    assert_received_once_in_order,
    holdings,
    holds_all_of,
)
from tests.faults.network import COUNTY, TOWNSHIP, LinkedNetwork
from tests.faults.outage import OUTAGE_APPENDS, OUTAGE_WAIT
from tests.faults.toxiproxy import Toxiproxy
from tests.nodes import requests as rq
from tests.timing import wait_for

pytestmark = [pytest.mark.toxiproxy, pytest.mark.kafka]

_STEP = 50  # acknowledged appends at the township before and after the outage


@dataclass
class KafkaPair:
    broker: FrontedBroker
    network: LinkedNetwork


@pytest.fixture
def pair(tmp_path: Path, toxiproxy: Toxiproxy) -> Iterator[KafkaPair]:
    broker = FrontedBroker(tmp_path / "broker", toxiproxy)
    layout = TopicLayout(f"t{uuid.uuid4().hex[:12]}")
    network: LinkedNetwork | None = None
    try:
        broker.start([TOWNSHIP, COUNTY], layout)
        network = LinkedNetwork(
            tmp_path / "nodes",
            {TOWNSHIP: "解放路街道", COUNTY: "历下区"},
            feed="kafka",
            kafka={"bootstrap": broker.address, "topic_prefix": layout.prefix},
        )
        yield KafkaPair(broker, network)
    finally:
        if network is not None:
            network.close()
        broker.stop()


def test_a_broker_out_of_reach_loses_nothing_and_replication_resumes(pair: KafkaPair) -> None:
    network, broker = pair.network, pair.broker
    network.start()
    network.stub(TOWNSHIP).PublishItem(rq.publish_item(), timeout=30)
    clerks = Clerks(network.addresses[TOWNSHIP])
    with (
        holdings(network.config(TOWNSHIP)) as township,
        holdings(network.config(COUNTY)) as county,
    ):
        clerks.wait_for_more(_STEP, "appends at the township")
        wait_for(lambda: len(county.stored()) > 0, "the county to follow over the broker")
        broker.proxy.down()
        clerks.wait_for_more(
            OUTAGE_APPENDS, "appends with the broker out of reach", timeout=OUTAGE_WAIT
        )
        held = len(county.stored())
        clerks.wait_for_more(
            OUTAGE_APPENDS, "more appends with the broker out of reach", timeout=OUTAGE_WAIT
        )
        assert len(county.stored()) == held, "the county received with the broker out of reach"
        assert clerks.failures == [], "the township stopped answering its clerks"
        broker.proxy.up()
        clerks.wait_for_more(_STEP, "appends with the broker back")
        acknowledged = clerks.stop()
        assert clerks.failures == [], "the township stopped answering its clerks"
        wait_for(lambda: holds_all_of(county, township), "the county to catch up", timeout=120)
        assert_received_once_in_order(county, township, order="case")
    for code in (TOWNSHIP, COUNTY):
        assert_nothing_quarantined(network.stub(code))
        assert_acknowledged_and_verified(network.stub(code), acknowledged)
