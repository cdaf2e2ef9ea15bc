"""The blind index of applicants follows the node's logs.

Every `Submitted` event the node holds (written here, or received with a case
it took over) names its applicant's identity number sealed under the
applicant's key. Where this node holds that key, the number is opened here,
hashed into the index (`CaseIndex`) and dropped; a case whose key this node
never held (a copy of a descendant's case) or erased is left out, as it
should be: its applicant is no one this node may find.

Caught up on demand (`log_catch_up`): a search catches up first, so it sees
every case committed before it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from caseledger.ledger.application import CaseLedger
from caseledger.ledger.case.events import Submitted
from caseledger.ledger.codes.vocabulary import ApplicantType
from caseledger.ledger.names import topics_for
from caseledger.ledger.personal.case_index import CaseIndex, applicant_token
from caseledger.ledger.personal.sealing import KeyNotHeld, Sealed
from caseledger.nodes.service.log_catch_up import catch_up_logs

_SUBMITTED = topics_for((Submitted.NAME,))


class ApplicantsFollower:
    def __init__(self, ledger: CaseLedger, index: CaseIndex) -> None:
        self._ledger = ledger
        self._index = index
        self._lock = threading.Lock()  # one catch-up at a time; the others wait for it

    def catch_up(self) -> None:
        with self._lock:
            key = self._ledger.keys.index_key()

            def take(log: str, events: Sequence[Any], position: int) -> None:
                entries = [e for e in (self._entry(key, event) for event in events) if e]
                self._index.follow(log, entries, position)

            catch_up_logs(self._ledger, _SUBMITTED, self._index.followed_to, take)

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
