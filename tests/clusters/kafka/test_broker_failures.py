"""Brokers of the three-broker cluster die during replication over Kafka.

A township (解放路街道) appends without pause; its county (历下区) follows
it over the cluster, on topics of three replicas of which two must hold a
record before the township's publisher counts it as published.

- One broker killed (kill -9), the one leading most of the township's
  partitions: the partitions move to the survivors, the township goes on
  publishing and the county on receiving while the broker is down.
- Two brokers killed: no partition has two replicas in sync, so no record
  is confirmed. The township keeps answering its clerks (an append is
  durable in its own store first) and says publishing stalled (health
  `caseledger.publishing` NOT_SERVING, `caseledger_publishing_stalled` 1,
  `caseledger_unpublished_events` growing); the county receives nothing.
  One broker back: publishing resumes by itself.

Each ends with the county holding every event of the township once, in each
case's order, nothing quarantined, and every acknowledged case's trail
verifying at both nodes.
"""

from __future__ import annotations

import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

from caseledger.nodes.replication.kafka_feed import TopicLayout
from tests.clusters.kafka.members import Members
from tests.faults.clerks import Clerks
from tests.faults.holdings import (
    Holdings,
    assert_acknowledged_and_verified,
    assert_nothing_quarantined,
    assert_received_once_in_order,
    holdings,
    holds_all_of,
)
from tests.faults.network import COUNTY, TOWNSHIP, LinkedNetwork
from tests.nodes import requests as rq
from tests.pki import client_channel
from tests.timing import wait_for

pytestmark = [pytest.mark.kafka_cluster]

_STEP = 50  # acknowledged appends between two looks
_WHILE_DOWN = 150  # appends acknowledged while brokers are down
_CATCH_UP = 180.0


def test_one_broker_killed_publishing_and_consuming_go_on(
    replicating: LinkedNetwork, members: Members
) -> None:
    network = replicating
    network.start()
    network.stub(TOWNSHIP).PublishItem(rq.publish_item(), timeout=30)
    clerks = Clerks(network.addresses[TOWNSHIP])
    with holdings(network.config(TOWNSHIP)) as township, holdings(network.config(COUNTY)) as county:
        clerks.wait_for_more(_STEP, "appends at the township")
        wait_for(lambda: len(county.stored()) > 0, "the county to follow over the cluster")
        topic = _authored_topic(network)
        victim = members.leader_of(topic)
        members.kill(victim)
        clerks.wait_for_more(_WHILE_DOWN, f"appends with member {victim} killed", timeout=120)
        appended = set(township.authored())
        # Events appended after the kill reach the county with the broker still down.
        wait_for(
            lambda: appended <= set(county.stored()),
            f"the county to receive with member {victim} down",
            timeout=_CATCH_UP,
        )
        assert victim in members.down, "the killed member came back by itself"
        assert clerks.failures == [], "the township stopped answering its clerks"
        members.begin_start(victim)
        clerks.wait_for_more(_STEP, f"appends with member {victim} restarting")
        acknowledged = clerks.stop()
        assert clerks.failures == [], "the township stopped answering its clerks"
        _caught_up(county, township)
    _all_verified(network, acknowledged)


def test_two_brokers_down_publishing_stalls_visibly_and_resumes_with_one_back(
    replicating: LinkedNetwork, members: Members
) -> None:
    network = replicating
    network.start()
    network.stub(TOWNSHIP).PublishItem(rq.publish_item(), timeout=30)
    clerks = Clerks(network.addresses[TOWNSHIP])
    with holdings(network.config(TOWNSHIP)) as township, holdings(network.config(COUNTY)) as county:
        clerks.wait_for_more(_STEP, "appends at the township")
        wait_for(lambda: len(county.stored()) > 0, "the county to follow over the cluster")
        assert _publishing(network) == health_pb2.HealthCheckResponse.SERVING
        assert _gauge(network, "caseledger_publishing_stalled") == 0
        members.kill(2)
        members.kill(3)
        wait_for(
            lambda: _publishing(network) == health_pb2.HealthCheckResponse.NOT_SERVING,
            "the township to say publishing stalled",
            timeout=60,
        )
        assert _gauge(network, "caseledger_publishing_stalled") == 1
        clerks.wait_for_more(_WHILE_DOWN, "appends with two brokers down", timeout=120)
        held = len(county.stored())
        clerks.wait_for_more(_STEP, "more appends with two brokers down")
        assert len(county.stored()) == held, "the county received with two brokers down"
        assert clerks.failures == [], "the township stopped answering its clerks"
        wait_for(
            lambda: _gauge(network, "caseledger_unpublished_events") >= _STEP,
            "the unpublished events to be counted",
        )
        assert _gauge(network, "caseledger_publish_waiting_seconds") > 0
        members.start(2)
        wait_for(
            lambda: _publishing(network) == health_pb2.HealthCheckResponse.SERVING,
            "publishing to resume with member 2 back",
            timeout=_CATCH_UP,
        )
        members.begin_start(3)
        clerks.wait_for_more(_STEP, "appends with member 2 back")
        acknowledged = clerks.stop()
        assert clerks.failures == [], "the township stopped answering its clerks"
        _caught_up(county, township)
        wait_for(
            lambda: _gauge(network, "caseledger_unpublished_events") == 0,
            "every authored event to be published",
        )
        assert _gauge(network, "caseledger_publishing_stalled") == 0
    _all_verified(network, acknowledged)


def _authored_topic(network: LinkedNetwork) -> str:
    prefix = network.config(TOWNSHIP).kafka_topic_prefix
    return TopicLayout(prefix).authored(TOWNSHIP)


def _publishing(network: LinkedNetwork) -> int:
    """The township's `caseledger.publishing` health status."""
    channel = client_channel(network.addresses[TOWNSHIP])
    try:
        request = health_pb2.HealthCheckRequest(service="caseledger.publishing")
        status: int = health_pb2_grpc.HealthStub(channel).Check(request, timeout=10).status
    finally:
        channel.close()
    return status


def _gauge(network: LinkedNetwork, name: str) -> float:
    """The township's gauge `name` for its authored topic."""
    topic = _authored_topic(network)
    for family in text_string_to_metric_families(network.metrics(TOWNSHIP)):
        for sample in family.samples:
            if sample.name == name and sample.labels.get("topic") == topic:
                return float(sample.value)
    raise AssertionError(f"the township exports no {name} for {topic}")


def _caught_up(county: Holdings, township: Holdings) -> None:
    wait_for(lambda: holds_all_of(county, township), "the county to catch up", timeout=_CATCH_UP)
    assert_received_once_in_order(county, township, order="case")


def _all_verified(network: LinkedNetwork, acknowledged: dict[str, int]) -> None:
    for code in (TOWNSHIP, COUNTY):
        assert_nothing_quarantined(network.stub(code))
        assert_acknowledged_and_verified(network.stub(code), acknowledged)
