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
node cannot reach; once drained it is 0 again. A transfer down to the
township meanwhile waits (PENDING) and completes once the links are back.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from caseledger.cli.audit.trail import verify_trail
from caseledger.v1 import ledger_pb2, types_pb2
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
from tests.pki import shared_pki
from tests.timing import scaled, wait_for

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
        exit_status, status = _network_status(network)
        assert exit_status == 1
        nodes = {node["code"]: node for node in status["nodes"]}
        assert all(node["answers"] for node in nodes.values())
        for code in _ANCESTORS:
            assert nodes[code]["lag"][TOWNSHIP] is None
            assert f"source {TOWNSHIP} unreachable (replication lag unknown)" in " ".join(
                nodes[code]["problems"]
            )
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
        wait_for(partial(_status_clear, network), "network status to show nothing wrong")
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


def test_a_transfer_to_a_cut_off_township_waits_and_completes_on_reconnection(
    network: LinkedNetwork,
) -> None:
    """下发 to a township that cannot be reached: the county's Transfer answers
    PENDING, the case stays the county's with the transfer to the township
    showing, the county's log says `transfer offer not answered`; once the
    links are back the township takes the case over and both hold one trail."""
    network.start()
    county = network.stub(COUNTY)
    county.PublishItem(rq.publish_item(), timeout=30)
    wait_for(partial(_knows_the_item, network), "the catalogue to flow down to the township")
    number = county.Submit(rq.submit(), timeout=30).result.case_number
    county.Accept(rq.accept(number), timeout=30)
    for link in network.proxies.values():
        link.down()

    reply = county.Transfer(_hand_down(number), timeout=scaled(60))
    assert reply.outcome == types_pb2.TRANSFER_OUTCOME_PENDING
    wait_for(
        partial(_logged, network, COUNTY, "transfer offer not answered", number),
        "the county to log the offer it could not make",
    )
    waiting = _view(network, COUNTY, number)
    assert waiting.owner == COUNTY
    assert waiting.transfer_to == TOWNSHIP
    with pytest.raises(grpc.RpcError) as unknown:
        _view(network, TOWNSHIP, number)
    assert unknown.value.code() is grpc.StatusCode.NOT_FOUND

    for link in network.proxies.values():
        link.up()
    wait_for(partial(_handed_down, network, number), "the township to take the case over")
    trails = {code: _trail(network, code, number) for code in (COUNTY, TOWNSHIP)}
    assert trails[COUNTY] == trails[TOWNSHIP]
    for code in (TOWNSHIP, *_ANCESTORS):
        assert_nothing_quarantined(network.stub(code))


def _hand_down(number: str) -> ledger_pb2.TransferRequest:
    return ledger_pb2.TransferRequest(
        meta=rq.meta(), case=number, target=TOWNSHIP, reason="下发属地办理"
    )


def _knows_the_item(network: LinkedNetwork) -> bool:
    try:
        network.stub(TOWNSHIP).GetItem(rq.get_item(), timeout=10)
    except grpc.RpcError as error:
        if error.code() is grpc.StatusCode.NOT_FOUND:
            return False
        raise
    return True


def _view(network: LinkedNetwork, code: str, number: str) -> ledger_pb2.CaseView:
    return network.stub(code).GetCase(rq.get_case(number), timeout=10).case


def _handed_down(network: LinkedNetwork, number: str) -> bool:
    try:
        views = [_view(network, code, number) for code in (COUNTY, TOWNSHIP)]
    except grpc.RpcError as error:
        if error.code() is grpc.StatusCode.NOT_FOUND:
            return False
        raise
    return all(v.owner == TOWNSHIP and not v.transfer_to for v in views)


def _trail(network: LinkedNetwork, code: str, number: str) -> list[str]:
    """The node's trail of the case, every hash recomputed."""
    request = ledger_pb2.ListCaseEventsRequest(case=number)
    trail = network.stub(code).ListCaseEvents(request, timeout=10)
    report = verify_trail(trail, number)
    assert report.verified, (code, report.first_break)
    return [event.hash for event in trail.events]


def _logged(network: LinkedNetwork, code: str, event: str, number: str) -> bool:
    for line in (network.folder / f"{code}.log").read_text(encoding="utf-8").splitlines():
        if f'"event": "{event}"' in line and number in line:
            return True
    return False


def _status_clear(network: LinkedNetwork) -> bool:
    """Every node answers and nothing is wrong: no source out of reach, the
    township's catalogue source (`<code>#reference`, which stays idle) included,
    and `network status` exits 0."""
    exit_status, status = _network_status(network)
    return (
        exit_status == 0
        and all(node["answers"] for node in status["nodes"])
        and not status["problems"]
    )


def _network_status(network: LinkedNetwork) -> tuple[int, dict[str, Any]]:
    """`caseledger network status --json` over the operator's network file."""
    command = [
        str(Path(sys.executable).parent / "caseledger"),
        *("network", "status", str(network.operator_file()), "--json"),
        *("--tls", str(shared_pki().client_folder())),
        *(f"--metrics={code}={port}" for code, port in network.metrics_ports.items()),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode in (0, 1), done.stderr
    assert done.stdout.startswith("{"), (done.stdout, done.stderr)
    state: dict[str, Any] = json.loads(done.stdout)
    return done.returncode, state
