"""Catching an index up with the node's two logs, on demand.

The applicants' blind index and the licence ids a node can see are kept
beside the logs rather than followed by a worker: a search or a certificate
first reads, by topic, what each log (the events authored here and those
received with descendants' cases) holds past where the index stands, up to
the log's end as it is at that moment; anything appended later is the next
call's. The index writes a page's entries and its new position together, so
a stretch read twice adds nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.persistence import ApplicationRecorder, Notification

from caseledger.ledger.application import CaseLedger

__all__ = ["catch_up_logs"]

_PAGE = 500


def catch_up_logs(
    ledger: CaseLedger,
    topics: Sequence[str],
    position_of: Callable[[str], int],
    take: Callable[[str, Sequence[Any], int], None],
) -> None:
    """For each log (`authored`, then `received` when the node has one): read
    its events of `topics` after `position_of(log)` and hand each page, decoded,
    to `take(log, events, position reached)`."""

    def catch_up(log: str, recorder: Any, decode: Callable[[Notification], Any]) -> None:
        assert isinstance(recorder, ApplicationRecorder)
        position = position_of(log)
        end = recorder.max_notification_id() or 0
        while position < end:
            page = recorder.select_notifications(
                position + 1, _PAGE, stop=end, topics=topics, inclusive_of_start=True
            )
            position = page[-1].id if len(page) == _PAGE else end
            take(log, [decode(n) for n in page], position)

    catch_up("authored", ledger.recorder, ledger.mapper.to_domain_event)
    if ledger.received is not None:
        catch_up("received", ledger.received.recorder, ledger.received.decode)
