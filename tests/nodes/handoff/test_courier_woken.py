"""The courier is woken by the node's commits: every store here polls for other
processes' commits once an hour, so a trail that reaches the node that held
the case within the wait was carried because the commit woke the courier's
subscription, not because a timer came round."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from caseledger.nodes.config import NodeConfig
from caseledger.nodes.service.server import start
from caseledger.v1 import types_pb2
from tests.nodes import requests as rq
from tests.nodes.handoff.test_handoff import (
    COUNTY,
    PINGYIN,
    TOWNSHIP,
    Pair,
    chain_of,
    open_case,
    transfer,
)
from tests.pki import secured
from tests.timing import wait_for

AN_HOUR = {"SQLITE_POLL_INTERVAL": "3600"}


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    directory: dict[str, str] = {}
    nodes = []
    for code in (TOWNSHIP, COUNTY, PINGYIN):
        config = NodeConfig(
            code=code, data_dir=tmp_path / code, allow_client_time=True, extra_env=AN_HOUR
        )
        node = start(secured(config), (), directory)
        directory[code] = node.address
        nodes.append(node)
    township, county, pingyin = nodes
    built = Pair(township, county, pingyin, directory=directory, folder=tmp_path)
    yield built
    for node in nodes:
        node.stop(grace=0)


def test_the_courier_carries_a_new_event_as_it_commits(pair: Pair) -> None:
    number = open_case(pair)
    transfer(pair, pair.township, number, COUNTY)
    reply = transfer(pair, pair.county, number, TOWNSHIP)
    assert (reply.outcome, reply.owner) == (types_pb2.TRANSFER_OUTCOME_ACCEPTED, TOWNSHIP)
    pair.stub(pair.township).RecordStep(rq.record_step(number))
    wait_for(
        lambda: chain_of(pair.county, number) == chain_of(pair.township, number),
        "the courier to bring the township's new event to the county",
    )
    assert len(chain_of(pair.county, number)) == 7  # 2 + two handoffs of 2 + the step
