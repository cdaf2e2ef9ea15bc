"""Case numbers (办件编号), unique across the network by construction.

A number is the owning node's 12-digit division code, the Beijing date of
receipt and a six-digit serial: `370102001000` `20261129` `000042`. The code
makes numbers of different nodes disjoint. Within a node, each number is
claimed by saving a `CaseNumber` index aggregate whose id is derived from the
number, in the same transaction as the case: the store's uniqueness of
(aggregate id, version) makes a second claim of the same number fail, on
every store. The serial counter lives in memory; after a restart it finds the
day's highest claimed serial by exponential and binary search over index
lookups, so the start-up cost is logarithmic in the day's volume.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

_NUMBER_NAMESPACE = uuid5(NAMESPACE_URL, "caseledger:case-number")
SERIAL_DIGITS = 6


def number_index_id(number: str) -> UUID:
    return uuid5(_NUMBER_NAMESPACE, number)


def format_number(node: str, day: date, serial: int) -> str:
    return f"{node}{day:%Y%m%d}{serial:0{SERIAL_DIGITS}d}"


class CaseNumber(Aggregate):
    """The claim of one case number by one case: an index by number."""

    # Not annotated: the library makes an __init__ of an aggregate's annotations.
    NAME = "caseledger.numbering.CaseNumber"
    """The stable name its `Claimed` event is stored with as `originator_topic`."""

    def __init__(self) -> None:
        self.case_id: UUID | None = None

    @dataclass(frozen=True)
    class Claimed(Aggregate.Created):
        """The number (whose index id is this aggregate's) was given to case `case_id`."""

        NAME: ClassVar[str] = "caseledger.numbering.CaseNumberClaimed"
        class_version: ClassVar[int] = 1

        case_id: UUID

        def apply(self, aggregate: Any) -> None:
            assert isinstance(aggregate, CaseNumber)
            aggregate.case_id = self.case_id

    @classmethod
    def claim(cls, number: str, case_id: UUID) -> CaseNumber:
        return cls._create(cls.Claimed, id=number_index_id(number), case_id=case_id)


class SerialCounter:
    """Next serial per day for one node, recovered from the claims on first use."""

    def __init__(self, node: str, is_claimed: Callable[[str], bool]) -> None:
        self._node = node
        self._is_claimed = is_claimed
        self._next: dict[date, int] = {}
        self._lock = threading.Lock()

    def take(self, day: date) -> str:
        with self._lock:
            serial = self._next.get(day)
            if serial is None:
                serial = self._highest_claimed(day) + 1
            self._next = {day: serial + 1}  # earlier days are never numbered again
            return format_number(self._node, day, serial)

    def skip_past(self, number: str) -> None:
        """A claim lost a race (another process numbered it): move on."""
        day = date(int(number[12:16]), int(number[16:18]), int(number[18:20]))
        serial = int(number[20:])
        with self._lock:
            if self._next.get(day, 0) <= serial:
                self._next[day] = serial + 1

    def _highest_claimed(self, day: date) -> int:
        def claimed(serial: int) -> bool:
            return self._is_claimed(format_number(self._node, day, serial))

        if not claimed(1):
            return 0
        low, high = 1, 2
        while claimed(high):
            low, high = high, high * 2
        # Invariant: `low` is claimed, `high` is not; serials are claimed in order.
        while high - low > 1:
            middle = (low + high) // 2
            if claimed(middle):
                low = middle
            else:
                high = middle
        return low
