"""Who may have written each event of a case's trail: the node that held the case
then, or, for the answer to a handover, the node it was offered to."""

from __future__ import annotations

import copy

from caseledger.ledger.case.aggregate import Case
from caseledger.ledger.case.events import CaseEvent
from caseledger.ledger.case.stages import Command
from caseledger.ledger.trail.authorship import authorship
from tests.ledger.case.case_paths import VALID, follow
from tests.samples import LIXIA, Clock

JINAN = "370100000000"  # 济南市, above Lixia
PINGYIN = "370124000000"  # 平阴县, beside Lixia


def events_of(case: Case) -> list[CaseEvent]:
    return [e for e in case.collect_events() if isinstance(e, CaseEvent)]


def test_a_trail_handed_up_and_worked_on_is_all_written_by_its_owners() -> None:
    clock = Clock()
    case = follow(clock, (Command.ACCEPT,))
    case.request_transfer(clock.ctx(), JINAN, "转报市级")
    case.accept_transfer(clock.ctx(node=JINAN))
    VALID[Command.RECORD_STEP](case, clock.ctx(node=JINAN))
    found = authorship(events_of(case))
    assert found.unauthored is None
    assert found.owners == (LIXIA, JINAN)


def test_an_event_written_by_a_node_that_did_not_hold_the_case_is_found() -> None:
    clock = Clock()
    case = follow(clock, (Command.ACCEPT,))
    events = events_of(case)
    # A later event rewritten to name another node as its author (its hashes
    # would be recomputed by a forger; authorship does not rest on them).
    forged = copy.copy(events[-1])
    object.__setattr__(forged, "node", PINGYIN)
    found = authorship([*events[:-1], forged])
    assert found.unauthored is not None
    assert (found.unauthored.version, found.unauthored.author) == (2, PINGYIN)
    assert found.unauthored.owner == LIXIA


def test_the_answer_to_a_handover_is_the_targets_to_write_and_no_one_elses() -> None:
    clock = Clock()
    case = follow(clock, (Command.ACCEPT,))
    case.request_transfer(clock.ctx(), JINAN, "转报市级")
    case.accept_transfer(clock.ctx(node=JINAN))
    events = events_of(case)
    assert authorship(events).unauthored is None
    answered_by_owner = copy.copy(events[-1])
    object.__setattr__(answered_by_owner, "node", PINGYIN)
    found = authorship([*events[:-1], answered_by_owner])
    assert found.unauthored is not None
    assert found.unauthored.owner == f"{LIXIA}→{JINAN}"
