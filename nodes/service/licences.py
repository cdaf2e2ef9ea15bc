"""The licence ids a node can see: every certificate issued in its logs.

A node checks a new licence id (电子证照标识) against two things: the claims
its own cases took (`CaseIndex.claim_licence`) and every `CertificateIssued`
event it holds, its own and those it received with its descendants' cases.
So a county refuses an id one of its townships already issued, and the
province refuses any id issued anywhere in the network once the case has
reached it. A sibling's licence is seen only where both trails meet (their
common ancestor): two townships may still issue one id at the same moment,
and only the county will hold both.

Caught up on demand (`log_catch_up`), like the applicants' index: a
certificate catches up first, so it sees every certificate this node had
received before it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from caseledger.ledger.application import CaseLedger
from caseledger.ledger.case.events import CertificateIssued
from caseledger.ledger.names import topics_for
from caseledger.ledger.personal.case_index import CaseIndex
from caseledger.nodes.service.log_catch_up import catch_up_logs

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

            def position_of(log: str) -> int:
                return self._index.followed_to(_STORE + log)

            def take(log: str, events: Sequence[Any], position: int) -> None:
                entries = [(e.payload["licence_id"], e.originator_id, e.node) for e in events]
                self._index.follow_licences(_STORE + log, entries, position)

            catch_up_logs(self._ledger, _ISSUED, position_of, take)
