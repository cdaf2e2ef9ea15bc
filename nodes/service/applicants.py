"""The blind index of applicants follows the node's logs.

Every `Submitted` event the node holds (written here, or received with a case
it took over) names its applicant's identity number sealed under the
applicant's key. Where this node holds that key, the number is opened here,
hashed into the index (`CaseIndex`) and dropped; a case whose key this node
never held (a copy of a descendant's case) or erased is left out, as it
should be: its applicant is no one this node may find.

Read by position, by topic, from where the index stands in each log; the
position and the entries are written together, so a stretch read twice adds
nothing. A search catches up first, so it sees every case committed before it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, Notification

from caseledger.ledger.application import CaseLedger
from caseledger.ledger.case.events import Submitted
from caseledger.ledger.codes.vocabulary import ApplicantType
from caseledger.ledger.names import topics_for
from caseledger.ledger.personal.case_index import CaseIndex, applicant_token
from caseledger.ledger.personal.sealing import KeyNotHeld, Sealed

_PAGE = 500
_SUBMITTED = topics_for((Submitted.NAME,))


class ApplicantsFollower:
    def __init__(self, ledger: CaseLedger, index: CaseIndex) -> None:
        self._ledger = ledger
        self._index = index
        self._lock = threading.Lock()  # one catch-up at a time; the others wait for it

    def catch_up(self) -> None:
        with self._lock:
            ledger = self._ledger
            self._follow("authored", ledger.recorder, ledger.mapper.to_domain_event)
            if ledger.received is not None:
                self._follow("received", ledger.received.recorder, ledger.received.decode)

    def _follow(self, store: str, recorder: Any, decode: Callable[[Notification], Any]) -> None:
        assert isinstance(recorder, ApplicationRecorder)
        key = self._ledger.keys.index_key()
        position = self._index.followed_to(store)
        # Read up to the end as it is now: anything appended later is the next call's.
        end = recorder.max_notification_id() or 0
        while position < end:
            page = recorder.select_notifications(
                position + 1, _PAGE, stop=end, topics=_SUBMITTED, inclusive_of_start=True
            )
            entries = [e for e in (self._entry(key, decode(n)) for n in page) if e is not None]
            position = page[-1].id if len(page) == _PAGE else end
            self._index.follow(store, entries, position)

    def _entry(self, key: bytes, event: Any) -> tuple[bytes, UUID, datetime] | None:
        applicant = event.payload["applicant"]
        try:
            number = self._ledger.open_sealed(Sealed.from_json(applicant["id_number"]), "id_number")
        except KeyNotHeld:
            return None
        if number is None:  # erased
            return None
        kind = ApplicantType.from_code(applicant["type"], "applicant.type")
        return applicant_token(key, kind, number), event.originator_id, event.timestamp
