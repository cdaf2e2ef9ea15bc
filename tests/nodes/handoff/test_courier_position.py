"""The courier records its position in the log a few times a second while
events keep coming, not once per page (a transaction with an fsync each), and
at once when the log goes quiet or the courier stops."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import cast

from caseledger.ledger.application import CaseLedger
from caseledger.nodes.handoff.courier import Courier
from tests.timing import wait_for

_NODE = "370102000000"
_NOT_A_CASE = "caseledger.catalogue.ItemPublished"


class SteadyLog:
    """A node's authored log that hands the courier `events` one-event pages
    as fast as it takes them, then stays quiet; it keeps what is recorded."""

    def __init__(self, events: int) -> None:
        self._left = list(range(1, events + 1))
        self.recorded: list[int] = []
        self.lock = threading.Lock()

    def follow_authored(self, after: int, topics: object = (), name: str = "") -> SteadyLog:
        return self

    def follower_position(self, follower: str) -> int:
        return 0

    def record_follower_position(self, follower: str, position: int) -> None:
        with self.lock:
            self.recorded.append(position)

    def take(self, limit: int, timeout: float) -> list[object]:
        if self._left:
            position = self._left.pop(0)
            return [SimpleNamespace(id=position, originator_id="x", topic=_NOT_A_CASE)]
        threading.Event().wait(timeout)
        return []

    def give_back(self, notifications: object) -> None:
        raise AssertionError("every event is carried")

    def stop(self) -> None:
        pass


def _courier(log: SteadyLog) -> Courier:
    return Courier(cast(CaseLedger, SimpleNamespace(node=_NODE, held=log)), {})


def test_a_busy_log_has_its_position_recorded_a_few_times_not_per_page() -> None:
    log = SteadyLog(events=2_000)
    courier = _courier(log)
    courier.start()
    try:
        wait_for(lambda: 2_000 in log.recorded, "the last event's position recorded")
    finally:
        courier.stop()
    # 2,000 one-event pages: per page would be 2,000 records.
    assert len(log.recorded) < 100, len(log.recorded)
    assert log.recorded == sorted(log.recorded)


def test_the_last_position_carried_is_recorded_when_the_courier_stops() -> None:
    log = SteadyLog(events=3)
    courier = _courier(log)
    courier.start()
    wait_for(lambda: not log._left, "every event taken")
    courier.stop()
    assert log.recorded[-1] == 3
