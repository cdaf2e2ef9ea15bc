"""The LogService: a node's authored log as a resumable stream.

A replica asks for the records after the last position it applied; with
`follow` the stream then waits for new appends, polling the store at a short
interval (the SQLite recorder has no change notification) until the client
cancels or the node stops.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import grpc

from caseledger.ledger.application import CaseLedger
from caseledger.ledger.errors import InvalidInput
from caseledger.nodes.status import status_of
from caseledger.v1 import log_pb2, log_pb2_grpc

_PAGE = 500
_POLL_SECONDS = 0.05


class LogService(log_pb2_grpc.LogServiceServicer):
    def __init__(self, ledger: CaseLedger, stopping: threading.Event) -> None:
        self._ledger = ledger
        self._stopping = stopping

    def StreamLog(
        self, request: log_pb2.StreamLogRequest, context: grpc.ServicerContext
    ) -> Iterator[log_pb2.LogRecord]:
        if request.after < 0 or request.limit < 0:
            field = "after" if request.after < 0 else "limit"
            context.abort_with_status(status_of(InvalidInput.single(field, "must not be negative")))
        after, sent = request.after, 0
        while context.is_active() and not self._stopping.is_set():
            page = self._ledger.recorder.select_notifications(
                start=after + 1, limit=_PAGE, topics=tuple(request.topics)
            )
            head = self._ledger.recorder.max_notification_id() or 0
            for notification in page:
                yield log_pb2.LogRecord(
                    position=notification.id,
                    originator_id=str(notification.originator_id),
                    originator_version=notification.originator_version,
                    topic=notification.topic,
                    state=notification.state,
                    head=head,
                )
                after, sent = notification.id, sent + 1
                if request.limit and sent >= request.limit:
                    return
            if len(page) < _PAGE:
                if not request.follow:
                    return
                self._stopping.wait(_POLL_SECONDS)
