"""The cache of a node's cases never goes back a version: a reader that loaded a
case before a command committed cannot put the older state back after it."""

from __future__ import annotations

import copy

from caseledger.ledger.case.stages import Command
from caseledger.ledger.case_cache import CaseCache
from tests.ledger.case.case_paths import VALID, follow
from tests.samples import Clock


def test_an_older_state_kept_after_a_newer_one_is_not_taken() -> None:
    clock = Clock()
    case = follow(clock, (Command.ACCEPT,))
    older = copy.deepcopy(case)
    VALID[Command.RECORD_STEP](case, clock.ctx())
    cache = CaseCache(8)
    cache.keep(case)
    cache.keep(older)  # a reader that loaded before the step, keeping late
    held = cache.get(case.id)
    assert held is case
    assert held.version == older.version + 1


def test_a_newer_state_replaces_the_older() -> None:
    clock = Clock()
    case = follow(clock, (Command.ACCEPT,))
    older = copy.deepcopy(case)
    VALID[Command.RECORD_STEP](case, clock.ctx())
    cache = CaseCache(8)
    cache.keep(older)
    cache.keep(case)
    assert cache.get(case.id) is case
