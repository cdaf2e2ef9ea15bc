"""A deadline counted into a year without its official holiday arrangement
(2027 with chinesecalendar 1.11.0), through a real node over gRPC: GetCase
marks it provisional and the node logs it."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog

from caseledger.v1 import ledger_pb2, ledger_pb2_grpc, types_pb2
from tests.nodes import requests as rq

Stub = ledger_pb2_grpc.LedgerServiceStub

# Mon 2026-11-30, 09:00 in Beijing: a date before every day these tests run on.
_LATE_NOVEMBER = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)


def accepted_late_in_2026(stub: Stub) -> str:
    """A case of a 25/30-working-day item accepted on 2026-11-30; its clock is running."""
    terms = rq.item_terms()
    terms.statutory_days, terms.promised_days = 30, 25
    stub.PublishItem(ledger_pb2.PublishItemRequest(terms=terms, meta=rq.publisher()))
    number = stub.Submit(rq.submit()).result.case_number
    meta = rq.meta()
    meta.occurred_at.FromDatetime(_LATE_NOVEMBER)
    stub.Accept(ledger_pb2.AcceptRequest(meta=meta, case=number, notice_no="历下受〔2026〕98号"))
    return number


def test_get_case_marks_a_deadline_counted_into_2027_provisional(stub: Stub) -> None:
    number = accepted_late_in_2026(stub)
    deadline = stub.GetCase(ledger_pb2.GetCaseRequest(case=number)).case.deadline
    # December 2026 has 23 working days; Fri 2027-01-01 is 元旦 by rule, so the
    # 24th is Mon 01-04, the 25th Tue 01-05 and the 30th Tue 01-12.
    assert (deadline.promised_due, deadline.statutory_due) == ("2027-01-05", "2027-01-12")
    assert deadline.provisional
    assert deadline.provisional_year == 2027


def test_the_node_logs_the_provisional_deadline_it_computed(stub: Stub) -> None:
    number = accepted_late_in_2026(stub)
    with structlog.testing.capture_logs() as logs:
        stub.GetCase(ledger_pb2.GetCaseRequest(case=number))
    provisional = [line for line in logs if line["event"].startswith("provisional deadline")]
    assert len(provisional) == 1, logs
    assert provisional[0]["log_level"] == "warning"
    assert provisional[0]["case_number"] == number
    assert provisional[0]["provisional_year"] == 2027
    assert provisional[0]["promised_due"] == "2027-01-05"


def test_a_case_concluded_inside_2026_is_final_and_logs_nothing(stub: Stub) -> None:
    stub.PublishItem(rq.publish_item())
    number = stub.Submit(rq.submit()).result.case_number
    stub.Accept(rq.accept(number))
    stub.RecordStep(rq.record_step(number))
    stub.Conclude(rq.conclude(number))
    with structlog.testing.capture_logs() as logs:
        view = stub.GetCase(ledger_pb2.GetCaseRequest(case=number)).case
    assert view.deadline.status == types_pb2.DEADLINE_STATUS_CONCLUDED_ON_TIME
    assert not view.deadline.provisional
    assert view.deadline.provisional_year == 0
    assert not [line for line in logs if line["event"].startswith("provisional deadline")]
