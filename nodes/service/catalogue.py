"""Which catalogue items a node knows: those it published and those it received.

An item is created once by its `ItemPublished` event, in the store of the node
that published it; nodes below receive that event with the rest of the
reference data. Reading the publication events of both stores (by topic, old
stored names included) names every item; its current terms are read by code,
which merges the two stores as every read does. The catalogue is small (a
node's few hundred items); the reading goes through the logs in pages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from eventsourcing.persistence import ApplicationRecorder, Notification

from caseledger.ledger.application import CaseLedger
from caseledger.ledger.catalogue import Item
from caseledger.ledger.names import topics_for

_PAGE = 1000
_PUBLISHED = topics_for((Item.Published.NAME,))


def item_codes(ledger: CaseLedger) -> list[str]:
    """The implementation codes of every item `ledger` holds, in order."""
    codes = set(_codes(ledger.recorder, ledger.mapper.to_domain_event))
    if ledger.received is not None:
        codes.update(_codes(ledger.received.recorder, ledger.received.decode))
    return sorted(codes)


def _codes(recorder: Any, decode: Callable[[Notification], Any]) -> Iterator[str]:
    assert isinstance(recorder, ApplicationRecorder)
    start: int | None = None
    while True:
        page = recorder.select_notifications(
            start, _PAGE, topics=_PUBLISHED, inclusive_of_start=start is None
        )
        for notification in page:
            yield str(decode(notification).terms["implementation_code"])
        if len(page) < _PAGE:
            return
        start = page[-1].id
