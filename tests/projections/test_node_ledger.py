"""The projection over a real node ledger: its own log and its received store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from caseledger.ledger.application import CaseLedger
from caseledger.ledger.case.stages import Status
from caseledger.ledger.codes.vocabulary import CaseType, SubmissionChannel
from caseledger.ledger.personal.keystore import MemorySubjectKeyStore
from caseledger.ledger.personal.sealing import SubjectKeys
from caseledger.ledger.trail.received import ReceivedEvents
from caseledger.projections import (
    AUTHORED,
    RECEIVED,
    CaseProjection,
    Follower,
    HeldTrails,
)
from caseledger.projections.store import CaseViews
from tests.projections.stores import memory_views
from tests.samples import LIXIA, Clock, applicant, food_licence_terms, material


@pytest.fixture
def ledger() -> Iterator[CaseLedger]:
    memory = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    node = CaseLedger(
        LIXIA, SubjectKeys(MemorySubjectKeyStore()), memory, received=ReceivedEvents(memory)
    )
    node.publish_item(food_licence_terms())
    yield node
    node.close()


def test_cases_submitted_and_accepted_at_a_node_reach_its_views(ledger: CaseLedger) -> None:
    assert ledger.received is not None
    views: CaseViews = memory_views()
    trails = HeldTrails([ledger.recorder, ledger.received.recorder], ledger.mapper)
    follower = Follower(
        CaseProjection(views, trails, ledger.mapper),
        {AUTHORED: ledger.recorder, RECEIVED: ledger.received.recorder},
    )
    follower.start()
    clock = Clock()
    terms = food_licence_terms()
    numbers = []
    try:
        for _ in range(3):
            outcome = ledger.submit(
                clock.ctx(),
                str(terms.implementation_code),
                SubmissionChannel.WINDOW,
                applicant(),
                [material(name) for name in terms.required_materials],
            )
            numbers.append(ledger.case(outcome.case_id).number)
        ledger.execute(
            numbers[0],
            clock.ctx(),
            lambda c, x: c.accept(x, "受理〔2026〕1号", CaseType.PROMISED, terms.limits),
        )
        follower.wait(AUTHORED, ledger.recorder.max_notification_id() or 0)
    finally:
        follower.stop()
    assert follower.error is None
    rows = {facts.number: facts for facts in views.rows()}
    assert sorted(rows) == sorted(numbers)
    assert rows[numbers[0]].status == Status.ACCEPTED.value
    assert rows[numbers[0]].version == ledger.case(numbers[0]).version
    assert {rows[n].status for n in numbers[1:]} == {Status.SUBMITTED.value}
    assert {facts.owner for facts in rows.values()} == {LIXIA}
