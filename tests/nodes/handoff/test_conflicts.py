"""Trails handed between nodes: garbage is refused with a status the node means,
and a copy that differs from the one a node holds is a recorded conflict.

- finding 5: DeliverTrail with a garbage state is DATA_LOSS (or
  INVALID_ARGUMENT), never UNKNOWN, and stores nothing;
- a delivered copy of a held version with another hash is refused and
  recorded in the receiver's quarantine with both hashes;
- a handoff whose owner's trail does not follow the target's copy is refused
  and recorded at the target, and logged by the owner;
- the courier, refused by a node that holds another history, logs it and
  carries the next case all the same.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from uuid import UUID

import grpc
import pytest
import structlog
from eventsourcing.persistence import StoredEvent

from caseledger.ledger.case.events import CaseEvent
from caseledger.ledger.trail.canonical import digest
from caseledger.ledger.trail.quarantine import Reason
from caseledger.nodes.config import NodeConfig
from caseledger.nodes.handoff.handover import records_of
from caseledger.nodes.service.server import RunningNode, start
from caseledger.v1 import handoff_pb2, handoff_pb2_grpc, ledger_pb2, ledger_pb2_grpc
from tests.ledger.trail.trails import stored_trail
from tests.nodes import requests as rq
from tests.nodes import tamper
from tests.nodes.replication.poison import MAPPER, quarantined
from tests.pki import client_channel, node_channel, secured
from tests.timing import wait_for

TOWNSHIP = "370102001000"
COUNTY = "370102000000"


@pytest.fixture
def logs() -> Iterator[list[MutableMapping[str, Any]]]:
    with structlog.testing.capture_logs() as captured:
        yield captured


@dataclass
class Pair:
    township: RunningNode
    county: RunningNode

    def stub(self, node: RunningNode) -> ledger_pb2_grpc.LedgerServiceStub:
        return ledger_pb2_grpc.LedgerServiceStub(client_channel(node.address))


@pytest.fixture
def pair(tmp_path: Path, logs: list[MutableMapping[str, Any]]) -> Iterator[Pair]:
    directory: dict[str, str] = {}
    nodes = []
    for code in (TOWNSHIP, COUNTY):
        node = start(
            secured(NodeConfig(code=code, data_dir=tmp_path / code, allow_client_time=True)),
            (),
            directory,
        )
        directory[code] = node.address
        nodes.append(node)
    built = Pair(*nodes)
    for node in nodes:
        built.stub(node).PublishItem(rq.publish_item())
    yield built
    for node in nodes:
        node.stop(grace=0)


def courier_position(node: RunningNode) -> int:
    received = node.ledger.received
    assert received is not None
    return received.process_recorder.max_tracking_id("courier") or 0


def deliver(node: RunningNode, case_id: str, records: list[handoff_pb2.TrailRecord]) -> int:
    with node_channel(node.address, TOWNSHIP) as channel:
        reply = handoff_pb2_grpc.HandoffServiceStub(channel).DeliverTrail(
            handoff_pb2.DeliverTrailRequest(from_node=TOWNSHIP, case_id=case_id, records=records),
            timeout=10,
        )
    return reply.stored


def forged(event: StoredEvent, change: Callable[[dict[str, Any]], dict[str, Any]]) -> StoredEvent:
    """`event` with its payload changed and its hash recomputed: it verifies on its own."""
    decoded = cast(CaseEvent, MAPPER.to_domain_event(event))
    copy = dataclasses.replace(decoded, payload=change(dict(decoded.payload)), hash="")
    copy = dataclasses.replace(copy, hash=digest(copy.hashed_form()))
    return MAPPER.to_stored_event(copy)


# -- finding 5 ----------------------------------------------------------------------


def _state_with(field: str, value: str) -> Callable[[bytes], bytes]:
    def change(state: bytes) -> bytes:
        text = state.decode()
        decoded = json.loads(text)
        decoded["payload"][field] = "__X__"
        return json.dumps(decoded, ensure_ascii=False).replace('"__X__"', value).encode()

    return change


GARBAGE: dict[str, Callable[[bytes], bytes]] = {
    "not JSON": lambda state: b"\xff\x00garbage",
    "a JSON list": lambda state: b"[1, 2]",
    "nothing": lambda state: b"",
    "a lone surrogate": _state_with("x", '"\\ud800"'),
    "NaN": _state_with("x", "NaN"),
    "a float": _state_with("x", "1.5"),
    "an integer past 2**53": _state_with("x", str(2**70)),
    "nesting past the parser": lambda state: b"[" * 100_000 + b"]" * 100_000,
}


@pytest.mark.parametrize("garbage", list(GARBAGE), ids=list(GARBAGE))
@pytest.mark.parametrize("version", [1, 0, 2**62])
def test_deliver_trail_with_a_garbage_state_is_refused_as_data_loss_never_unknown(
    pair: Pair, garbage: str, version: int
) -> None:
    (first,) = stored_trail(0)[:1]
    record = handoff_pb2.TrailRecord(
        version=version, topic=first.topic, state=GARBAGE[garbage](first.state)
    )
    received = pair.county.ledger.received
    assert received is not None
    case_id = cast(UUID, first.originator_id)
    held = len(received.stored(case_id))
    with pytest.raises(grpc.RpcError) as refused:
        deliver(pair.county, str(first.originator_id), [record])
    assert refused.value.code() in (grpc.StatusCode.DATA_LOSS, grpc.StatusCode.INVALID_ARGUMENT)
    assert refused.value.code() is not grpc.StatusCode.UNKNOWN
    assert len(received.stored(case_id)) == held == 0
    assert quarantined(pair.county) == []  # garbage from the wire is refused, not recorded


# -- conflicts ----------------------------------------------------------------------


def test_a_delivered_copy_that_differs_from_the_held_one_is_a_recorded_conflict(
    pair: Pair, logs: list[MutableMapping[str, Any]]
) -> None:
    stub = pair.stub(pair.county)
    number = rq.prepared(stub, rq.Stage.ACCEPTED)
    case_id = pair.county.ledger.resolve(number)
    held = tamper.stored(pair.county.config.event_db, case_id)
    other = forged(held[1], lambda p: {**p, "notice_no": "受2号"})

    with pytest.raises(grpc.RpcError) as refused:
        deliver(pair.county, str(case_id), records_of([held[0], other]))

    assert refused.value.code() is grpc.StatusCode.DATA_LOSS
    held_hash, other_hash = tamper.hash_of(MAPPER, held[1]), tamper.hash_of(MAPPER, other)
    assert held_hash in str(refused.value.details())
    assert other_hash in str(refused.value.details())
    (entry,) = quarantined(pair.county)
    assert (entry.case, entry.version, entry.reason) == (str(case_id), 2, Reason.CONFLICT)
    assert (entry.held_hash, entry.received_hash) == (held_hash, other_hash)
    assert entry.held_events == 1  # the other copy, kept as evidence
    assert any(line["event"] == "case quarantined" for line in logs)
    assert len(pair.county.ledger.trail(number)) == 2  # the held copy stays, unchanged


def test_an_offer_whose_trail_does_not_follow_the_targets_copy_is_refused_and_recorded(
    pair: Pair, logs: list[MutableMapping[str, Any]]
) -> None:
    township = pair.stub(pair.township)
    number = rq.prepared(township, rq.Stage.ACCEPTED)
    case_id = pair.township.ledger.resolve(number)
    genuine = tamper.stored(pair.township.config.event_db, case_id)
    # The county was handed another history of the case before (versions 1 and 2).
    other = forged(genuine[1], lambda p: {**p, "notice_no": "受2号"})
    assert deliver(pair.county, str(case_id), records_of([genuine[0], other])) == 2

    reply = township.Transfer(
        ledger_pb2.TransferRequest(meta=rq.meta(), case=number, target=COUNTY, reason="转报")
    )

    assert reply.owner == TOWNSHIP  # not taken over: the county refused
    (entry,) = quarantined(pair.county)
    assert (entry.case, entry.version, entry.reason) == (str(case_id), 3, Reason.BROKEN_LINK)
    assert entry.held_hash == tamper.hash_of(MAPPER, other)
    assert entry.received_hash == tamper.hash_of(MAPPER, genuine[1])
    assert any(
        line["event"] == "transfer refused: the target holds another history of the case"
        and line["log_level"] == "error"
        for line in logs
    )


def test_the_courier_reports_a_refused_trail_and_carries_the_next_case(
    pair: Pair, logs: list[MutableMapping[str, Any]]
) -> None:
    township, county = pair.stub(pair.township), pair.stub(pair.county)
    numbers = [rq.prepared(township, rq.Stage.ACCEPTED) for _ in range(2)]
    for number in numbers:
        reply = township.Transfer(
            ledger_pb2.TransferRequest(meta=rq.meta(), case=number, target=COUNTY, reason="转报")
        )
        assert reply.owner == COUNTY
    first = pair.township.ledger.resolve(numbers[0])
    # The township's own copy of the first case is rewritten, hashes and all.
    tamper.rewrite_with_hashes(
        pair.township.config.event_db, MAPPER, first, 2, lambda p: {**p, "notice_no": "受2号"}
    )

    for number in numbers:  # new events at the county: the courier carries them down
        county.RecordStep(rq.record_step(number))

    wait_for(lambda: bool(quarantined(pair.township)), "the township to refuse the first case")
    head = pair.county.ledger.recorder.max_notification_id() or 0
    wait_for(lambda: courier_position(pair.county) >= head, "the courier to go past the refusal")
    assert len(pair.township.ledger.trail(numbers[1])) == 5  # the second case was carried
    assert len(pair.township.ledger.trail(numbers[0])) == 4  # the first was not
    # Each delivery of the first case met the rewritten copy: only conflicts of it.
    entries = quarantined(pair.township)
    assert all((e.case, e.reason) == (str(first), Reason.CONFLICT) for e in entries), entries
    assert any(
        line["event"] == "trail refused: the node holds another history of the case"
        for line in logs
    )
