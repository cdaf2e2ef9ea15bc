"""A township at the end of a rural link: 200 ms round trip and about
300 kbit/s each way between it and its county, under a busy township's load.

Two window clerks each take a case and accept it (受理), then turn to the
next applicant a second later; the county follows the township's log and the
township the county's catalogue, both over the slow link. No clerk's call
fails or times out, the stream over the link never breaks (the county never
logs the township unreachable, nor the township the county), and the county
holds every event once, in order, every trail verifying at both nodes.
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
from tests.faults.logs import logged
from tests.faults.network import COUNTY, TOWNSHIP, LinkedNetwork
from tests.faults.toxiproxy import Bandwidth, Latency, Toxiproxy
from tests.nodes import requests as rq
from tests.timing import wait_for

pytestmark = pytest.mark.toxiproxy

_ONE_WAY_MS = 100  # 200 ms round trip
_KILOBYTES_PER_SECOND = 37  # about 300 kbit/s (Toxiproxy counts KB/s)
_CLERKS = 2
_BETWEEN_APPLICANTS_S = 1.0
_CASES = 40


@pytest.fixture
def network(tmp_path: Path, toxiproxy: Toxiproxy) -> Iterator[LinkedNetwork]:
    built = LinkedNetwork(
        tmp_path,
        {TOWNSHIP: "解放路街道", COUNTY: "历下区"},
        links=[(COUNTY, TOWNSHIP), (TOWNSHIP, COUNTY)],
        toxiproxy=toxiproxy,
    )
    for proxy in built.proxies.values():
        for stream in ("upstream", "downstream"):
            proxy.add(Latency(_ONE_WAY_MS), stream=stream)
            proxy.add(Bandwidth(_KILOBYTES_PER_SECOND), stream=stream)
    yield built
    built.close()


def _unreachable(network: LinkedNetwork, code: str) -> list[dict[str, object]]:
    return logged(network.node(code).log, "source unreachable")


def test_a_rural_link_carries_a_busy_township_without_a_timeout(
    network: LinkedNetwork,
) -> None:
    network.start()
    network.stub(TOWNSHIP).PublishItem(rq.publish_item(), timeout=30)
    with (
        holdings(network.config(TOWNSHIP)) as township,
        holdings(network.config(COUNTY)) as county,
    ):
        wait_for(lambda: holds_all_of(county, township), "the item to reach the county")
        # Until both listened, each may have found the other unreachable.
        started = {code: len(_unreachable(network, code)) for code in (TOWNSHIP, COUNTY)}
        clerks = Clerks(network.addresses[TOWNSHIP], count=_CLERKS, pause=_BETWEEN_APPLICANTS_S)
        wait_for(lambda: clerks.cases() >= _CASES, f"{_CASES} cases at the township", timeout=180)
        acknowledged = clerks.stop()
        assert clerks.failures == [], "a clerk's call failed at the township"
        wait_for(lambda: holds_all_of(county, township), "the county to catch up", timeout=120)
        assert_received_once_in_order(county, township)
    for code, name in ((COUNTY, "the county's"), (TOWNSHIP, "the township's")):
        assert len(_unreachable(network, code)) == started[code], f"{name} stream broke"
    for code in (TOWNSHIP, COUNTY):
        assert_nothing_quarantined(network.stub(code))
        assert_acknowledged_and_verified(network.stub(code), acknowledged)
