"""The cases a node touched recently, kept decoded in memory.

Safe because a node is the single writer of the cases it owns: nothing but
this process appends to them, so a cached case is never behind its store.
A case is forgotten whenever an append of it fails, so the cache never runs
ahead of the store either.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from uuid import UUID

from caseledger.ledger.case.aggregate import Case


class CaseCache:
    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._cases: OrderedDict[UUID, Case] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, case_id: UUID) -> Case | None:
        with self._lock:
            case = self._cases.get(case_id)
            if case is not None:
                self._cases.move_to_end(case_id)
            return case

    def keep(self, case: Case) -> None:
        with self._lock:
            held = self._cases.get(case.id)
            # A reader that loaded the case before a command committed may keep
            # it after the command kept the newer state: never go back a version.
            if held is not None and held.version > case.version:
                self._cases.move_to_end(case.id)
                return
            self._cases[case.id] = case
            self._cases.move_to_end(case.id)
            while len(self._cases) > self._capacity:
                self._cases.popitem(last=False)

    def forget(self, case_id: UUID) -> None:
        with self._lock:
            self._cases.pop(case_id, None)
