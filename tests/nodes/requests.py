"""Well-formed requests for the node tests; each test breaks one thing."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from caseledger.v1 import ledger_pb2, types_pb2
from tests.samples import CITIZEN_ID, FOOD_LICENCE, material

_serial = itertools.count(1)
_START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def meta(request_id: str | None = None, role: str = "window_clerk") -> types_pb2.CommandMeta:
    n = next(_serial)
    at = types_pb2.CommandMeta().occurred_at
    at.FromDatetime(_START + timedelta(minutes=n))
    return types_pb2.CommandMeta(
        request_id=request_id or f"req-{n}",
        operator=types_pb2.Operator(id="clerk-007", role=role),
        occurred_at=at,
    )


def item_terms() -> ledger_pb2.ItemTerms:
    return ledger_pb2.ItemTerms(
        implementation_code=FOOD_LICENCE,
        name="食品经营许可证核发",
        item_type=types_pb2.ITEM_TYPE_LICENSING,
        exercising_level=types_pb2.EXERCISING_LEVEL_COUNTY,
        case_type=types_pb2.CASE_TYPE_PROMISED,
        statutory_days=20,
        promised_days=10,
        required_materials=["食品经营许可申请书"],
        issues_certificate=True,
    )


def submit(request_id: str | None = None) -> ledger_pb2.SubmitRequest:
    m = material()
    return ledger_pb2.SubmitRequest(
        meta=meta(request_id),
        item_code=FOOD_LICENCE,
        channel=types_pb2.SUBMISSION_CHANNEL_WINDOW,
        applicant=ledger_pb2.Applicant(
            type=types_pb2.APPLICANT_TYPE_NATURAL_PERSON,
            name="张三",
            id_number=CITIZEN_ID,
            phone="13800138000",
            address="济南市历下区解放路1号",
        ),
        materials=[types_pb2.Material(name=m.name, sha256=m.sha256)],
    )
