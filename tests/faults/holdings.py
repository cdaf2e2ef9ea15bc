"""What a fault must not change: what the nodes hold once it has passed.

Every scenario ends here. A receiver holds each event of its source's log
exactly once and in the source's log order (a stream resumed one position too
early stores something twice, one too late leaves a hole); nothing is held in
quarantine; every case a clerk was answered for has at every node at least
the events acknowledged, and its trail verifies there, recomputed by the
command line's own verifier.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Notification

from caseledger.cli.audit.trail import verify_trail
from caseledger.ledger.trail.received import ReceivedEvents
from caseledger.nodes.config import NodeConfig
from caseledger.v1 import ledger_pb2, ledger_pb2_grpc

_EVERYTHING = 1_000_000
_CALL_TIMEOUT = 30.0

Event = tuple[str, int]
"""(case or item id, version)."""


@dataclass
class Holdings:
    """One node's authored log and received events, read beside the running node."""

    log: Application[Any]
    received: ReceivedEvents

    def authored(self) -> list[Event]:
        return _events(self.log.recorder.select_notifications(start=1, limit=_EVERYTHING))

    def stored(self) -> list[Event]:
        return _events(self.received.recorder.select_notifications(start=1, limit=_EVERYTHING))


@contextmanager
def holdings(config: NodeConfig) -> Iterator[Holdings]:
    log: Application[UUID] = Application(env=config.persistence_env())
    received = ReceivedEvents(env=config.persistence_env(config.received_db))
    try:
        yield Holdings(log, received)
    finally:
        log.close()
        received.close()


def holds_all_of(receiver: Holdings, source: Holdings) -> bool:
    """Whether every event of `source`'s log has reached `receiver`."""
    return set(source.authored()) <= set(receiver.stored())


def assert_received_once_in_order(
    receiver: Holdings, source: Holdings, order: Literal["log", "case"] = "log"
) -> None:
    """Every event of `source`'s log held once by `receiver`: stored in the
    source's log order, or with `order="case"` in each case's own order (all a
    Kafka feed promises: topics are keyed by case, partitions interleave)."""
    authored = source.authored()
    from_source = set(authored)
    came = [event for event in receiver.stored() if event in from_source]
    assert len(came) == len(set(came)), "an event of the source was stored twice"
    assert set(came) == from_source, f"{len(from_source - set(came))} events never came"
    if order == "log":
        assert came == authored, "the source's events were not stored in its log order"
    else:
        assert _by_case(came) == _by_case(authored), "a case's events were stored out of order"


def _by_case(events: list[Event]) -> dict[str, list[int]]:
    cases: dict[str, list[int]] = {}
    for case, version in events:
        cases.setdefault(case, []).append(version)
    return cases


def assert_nothing_quarantined(stub: ledger_pb2_grpc.LedgerServiceStub) -> None:
    held = stub.ListQuarantined(ledger_pb2.ListQuarantinedRequest(), timeout=_CALL_TIMEOUT)
    assert list(held.cases) == [], f"held in quarantine: {held.cases}"


def assert_acknowledged_and_verified(
    stub: ledger_pb2_grpc.LedgerServiceStub, acknowledged: Mapping[str, int]
) -> None:
    """Every case has at least its acknowledged events there, and its trail verifies."""
    for number, version in acknowledged.items():
        request = ledger_pb2.ListCaseEventsRequest(case=number)
        trail = stub.ListCaseEvents(request, timeout=_CALL_TIMEOUT)
        assert len(trail.events) >= version, f"case {number} lost acknowledged events"
        report = verify_trail(trail, number)
        assert report.verified, (number, report.first_break)


def _events(notifications: Iterable[Notification]) -> list[Event]:
    return [(str(n.originator_id), n.originator_version) for n in notifications]
