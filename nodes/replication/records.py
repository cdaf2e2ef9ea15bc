"""The wire form of a node's log (`caseledger.v1.LogRecord`), for every feed.

A log record is the same bytes whichever transport carries it: the LogService
streams it and the Kafka publisher writes it as a record's value. Its topic
is the event's stable name (`docs/events.md`), also for an event stored under
an alias. Turning a received record back into a `Delivery` is the port's, so
no adapter needs another adapter's code.
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from eventsourcing.persistence import Notification, StoredEvent

from caseledger.ledger import names
from caseledger.ledger.audit.leaves import UnhashableEvent, event_leaf
from caseledger.ledger.errors import UnknownEventName
from caseledger.ledger.trail.received import Delivery
from caseledger.v1 import log_pb2


def record_of(notification: Notification, head: int = 0) -> log_pb2.LogRecord:
    """A stored notification of this node's log as it travels."""
    return log_pb2.LogRecord(
        position=notification.id,
        originator_id=str(notification.originator_id),
        originator_version=notification.originator_version,
        topic=names.stable_name(notification.topic),
        state=notification.state,
        head=head,
    )


def delivery_of(record: log_pb2.LogRecord, position: int | None = None) -> Delivery:
    """A received record as the port's delivery.

    `position` is where the transport puts the record in the source's sequence
    when that is not the source's own log position (a Kafka offset + 1).
    """
    return Delivery(
        position=record.position if position is None else position,
        event=StoredEvent(
            originator_id=UUID(record.originator_id),
            originator_version=record.originator_version,
            topic=record.topic,
            state=record.state,
        ),
    )


def leaves_of(records: Iterable[log_pb2.LogRecord]) -> list[tuple[int, bytes]]:
    """The Merkle leaf of each received record of a source's own log, by the
    log position it was sent with. A case event without a readable hash (or
    an event of no known name) has no leaf: its position stays a hole in
    what the witness holds, and the source's checkpoints beyond it wait (the
    intake quarantines the case)."""
    leaves = []
    for record in records:
        try:
            leaf = event_leaf(
                record.topic, record.originator_id, record.originator_version, record.state
            )
        except (UnhashableEvent, UnknownEventName):
            continue
        leaves.append((record.position, leaf))
    return leaves
