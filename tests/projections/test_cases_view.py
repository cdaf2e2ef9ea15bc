"""The `cases` view: what a row holds of a case, and what it never holds."""

from __future__ import annotations

import json
import random

from caseledger.ledger.case.events import CaseEvent, utc_text
from caseledger.projections.facts import CaseFacts, ClockStop, fold_all
from tests.ledger.case.case_paths import ADDRESS, APPLICANT, SIGNER
from tests.projections.histories import START, case_mapper, simulate_case
from tests.projections.stores import ViewStore, project_all

TOWNSHIP = "370102001000"
COUNTY = "370102000000"


def _case_along(path: str, receiver: str = COUNTY) -> list[CaseEvent]:
    return simulate_case(random.Random(0), [receiver], START, 1, path)


def _row(events: list[CaseEvent], store: ViewStore, node: str = COUNTY) -> CaseFacts:
    (facts,) = project_all(node, events, case_mapper(), store).rows()
    return facts


def test_a_row_holds_the_case_its_item_stage_times_limits_stops_and_rating(
    views_store: ViewStore,
) -> None:
    events = _case_along("online_corrected_bad_rating")
    facts = _row(events, views_store)
    by_stage = {e.stage: e for e in events}
    assert facts.number == events[0].payload["number"]
    assert facts.owner == COUNTY
    assert facts.owners == (COUNTY,)
    assert facts.item_name == "食品经营许可证核发"
    assert facts.channel == "2"  # 网上
    assert facts.status == "concluded"
    assert facts.result == "1"
    assert (facts.statutory_days, facts.promised_days) == (20, 10)
    assert not facts.immediate
    for column, stage in (
        ("submitted_at", "Submitted"),
        ("accepted_at", "Accepted"),
        ("concluded_at", "Concluded"),
        ("certificate_at", "CertificateIssued"),
        ("delivered_at", "DeliveryConfirmed"),
        ("rated_at", "Rated"),
        ("rectified_at", "RectificationRecorded"),
    ):
        assert getattr(facts, column) == utc_text(by_stage[stage].timestamp), column
    assert facts.delivery_method == "mail"
    started = by_stage["SpecialProcedureStarted"].on.isoformat()
    ended = by_stage["SpecialProcedureEnded"].on.isoformat()
    assert facts.clock_stops == [ClockStop("5", started, ended)]
    assert (facts.rating, facts.rating_bad, facts.rating_default) == ("4", True, False)
    assert facts == fold_all(facts.case_id, events)


def test_a_case_reported_up_and_sent_back_down_shows_every_owner(views_store: ViewStore) -> None:
    events = _case_along("reported_up_and_back", TOWNSHIP)
    facts = _row(events, views_store)
    assert facts.received_by == TOWNSHIP
    assert facts.accepted_by == COUNTY
    assert facts.concluded_by == COUNTY
    assert facts.owners == (TOWNSHIP, COUNTY)
    assert facts.owner == TOWNSHIP
    assert [(t[0], t[1], t[2]) for t in facts.transfers] == [
        (TOWNSHIP, COUNTY, "up"),
        (COUNTY, TOWNSHIP, "down"),
    ]
    assert facts.delivery_method == "window"


def test_no_personal_datum_reaches_a_row_sealed_or_not(views_store: ViewStore) -> None:
    events = _case_along("online_corrected_bad_rating")
    views = project_all(COUNTY, events, case_mapper(), views_store)
    (stored,) = views.all_rows()
    text = json.dumps(stored, ensure_ascii=False)
    for sealed in (APPLICANT.name, APPLICANT.id_number, SIGNER, ADDRESS):
        assert sealed.to_json()["ct"] not in text
    assert APPLICANT.subject not in text
    assert "sealed" not in text
