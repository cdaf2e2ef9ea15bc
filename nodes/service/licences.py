"""The licence ids a node can see: every certificate issued in its logs.

A node checks a new licence id (电子证照标识) against two things: the claims
its own cases took (`CaseIndex.claim_licence`) and every `CertificateIssued`
event it holds, its own and those it received with its descendants' cases.
So a county refuses an id one of its townships already issued, and the
province refuses any id issued anywhere in the network once the case has
reached it. A sibling's licence is seen only where both trails meet (their
common ancestor): two townships may still issue one id at the same moment,
and only the county will hold both.

Read by position, by topic, from where the index stands in each log, like the
applicants' follower; a certificate catches up first, so it sees every
certificate this node had received before it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, Notification

from caseledger.ledger.application import CaseLedger
from caseledger.ledger.case.events import CertificateIssued
from caseledger.ledger.names import topics_for
from caseledger.ledger.personal.case_index import CaseIndex

_PAGE = 500
_ISSUED = topics_for((CertificateIssued.NAME,))
_STORE = "licences:"
"""The index's positions in each log, apart from the applicants' ones."""


class LicencesFollower:
    def __init__(self, ledger: CaseLedger, index: CaseIndex) -> None:
        self._ledger = ledger
        self._index = index
        self._lock = threading.Lock()  # one catch-up at a time; the others wait for it

    def holder(self, licence_id: str) -> tuple[UUID, str] | None:
        """The case (and its issuing node) any of the node's logs shows holding the id."""
        self.catch_up()
        return self._index.licence_seen(licence_id)

    def catch_up(self) -> None:
        with self._lock:
            ledger = self._ledger
            self._follow("authored", ledger.recorder, ledger.mapper.to_domain_event)
            if ledger.received is not None:
                self._follow("received", ledger.received.recorder, ledger.received.decode)

    def _follow(self, store: str, recorder: Any, decode: Callable[[Notification], Any]) -> None:
        assert isinstance(recorder, ApplicationRecorder)
        position = self._index.followed_to(_STORE + store)
        # Read up to the end as it is now: anything appended later is the next call's.
        end = recorder.max_notification_id() or 0
        while position < end:
            page = recorder.select_notifications(
                position + 1, _PAGE, stop=end, topics=_ISSUED, inclusive_of_start=True
            )
            entries: list[tuple[str, UUID, str]] = []
            for notification in page:
                event = decode(notification)
                entries.append((event.payload["licence_id"], event.originator_id, event.node))
            position = page[-1].id if len(page) == _PAGE else end
            self._index.follow_licences(_STORE + store, entries, position)
