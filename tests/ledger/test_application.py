"""The node ledger on the in-memory store: lifecycle, idempotency, numbering."""

from __future__ import annotations

import dataclasses

import pytest

from caseledger.ledger.application import CaseLedger
from caseledger.ledger.case.aggregate import Case
from caseledger.ledger.case.stages import Status
from caseledger.ledger.codes.vocabulary import (
    CaseType,
    SubmissionChannel,
)
from caseledger.ledger.errors import InvalidInput
from caseledger.ledger.personal.keystore import MemorySubjectKeyStore
from caseledger.ledger.personal.sealing import SubjectKeys
from caseledger.ledger.trail.canonical import digest
from tests.samples import LIXIA, Clock, applicant, food_licence_terms, material


@pytest.fixture
def ledger() -> CaseLedger:
    app = CaseLedger(LIXIA, SubjectKeys(MemorySubjectKeyStore()))
    app.publish_item(food_licence_terms())
    return app


@pytest.fixture
def clock() -> Clock:
    return Clock()


def submit(
    ledger: CaseLedger, clock: Clock, channel: SubmissionChannel = SubmissionChannel.WINDOW
) -> Case:
    terms = food_licence_terms()
    outcome = ledger.submit(
        clock.ctx(), str(terms.implementation_code), channel, applicant(), [material()]
    )
    return ledger.case(outcome.case_id)


def test_a_whole_lifecycle_chains_every_event_to_the_previous_one(
    ledger: CaseLedger, clock: Clock
) -> None:
    case = submit(ledger, clock)
    terms = food_licence_terms()
    ctx = clock.ctx()
    ledger.execute(
        case.id, ctx, lambda c, x: c.accept(x, "受理〔2026〕1号", CaseType.PROMISED, terms.limits)
    )
    trail = ledger.trail(case.id)
    assert [e.stage for e in trail] == ["Submitted", "Accepted"]
    assert trail[1].prev_hash == trail[0].hash
    for event in trail:
        assert digest(event.hashed_form()) == event.hash
    assert ledger.case(case.number).status is Status.ACCEPTED


def test_a_command_clocked_before_a_concurrent_one_that_committed_first_runs_after_it(
    ledger: CaseLedger, clock: Clock
) -> None:
    """Two commands on one case read the node's clock in one order and take the
    case's lock in the other: the later-committing one is moved up, not refused."""
    case = submit(ledger, clock)
    terms = food_licence_terms()
    early, late = clock.ctx(), clock.ctx()
    early = dataclasses.replace(early, node_clock=True)
    ledger.execute(
        case.id, late, lambda c, x: c.accept(x, "受1号", CaseType.PROMISED, terms.limits)
    )
    ledger.execute(case.id, early, lambda c, x: c.record_step(x, "审查", "李四", "同意", "pass"))
    trail = ledger.trail(case.id)
    assert trail[-1].timestamp == trail[-2].timestamp == late.at


def test_a_client_stamped_command_before_the_last_event_is_still_refused(
    ledger: CaseLedger, clock: Clock
) -> None:
    case = submit(ledger, clock)
    terms = food_licence_terms()
    early, late = clock.ctx(), clock.ctx()
    ledger.execute(
        case.id, late, lambda c, x: c.accept(x, "受1号", CaseType.PROMISED, terms.limits)
    )
    with pytest.raises(InvalidInput):
        ledger.execute(
            case.id, early, lambda c, x: c.record_step(x, "审查", "李四", "同意", "pass")
        )
