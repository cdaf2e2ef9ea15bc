"""The catalogue item and submissions the benchmark drives (valid by their check rules)."""

from __future__ import annotations

import hashlib

from caseledger.ledger.codes.identifiers import citizen_id_check_char, credit_code_check_char
from caseledger.v1 import ledger_pb2, types_pb2

_BUREAU = "11370102MB2859013"
_ITEM = f"{_BUREAU}{credit_code_check_char(_BUREAU)}4370100200001"
_PERSON = "37010219900307123"


def item_terms() -> ledger_pb2.ItemTerms:
    return ledger_pb2.ItemTerms(
        implementation_code=_ITEM,
        name="食品经营许可证核发",
        item_type=types_pb2.ITEM_TYPE_LICENSING,
        exercising_level=types_pb2.EXERCISING_LEVEL_COUNTY,
        case_type=types_pb2.CASE_TYPE_PROMISED,
        statutory_days=20,
        promised_days=10,
        required_materials=["食品经营许可申请书"],
        issues_certificate=True,
    )


def publication(request_id: str) -> ledger_pb2.PublishItemRequest:
    """The catalogue item, published by the benchmark's catalogue officer."""
    return ledger_pb2.PublishItemRequest(
        terms=item_terms(),
        meta=types_pb2.CommandMeta(
            request_id=request_id, operator=types_pb2.Operator(id="bench", role="catalogue_admin")
        ),
    )


def submission(request_id: str) -> ledger_pb2.SubmitRequest:
    return ledger_pb2.SubmitRequest(
        meta=types_pb2.CommandMeta(
            request_id=request_id, operator=types_pb2.Operator(id="bench", role="window_clerk")
        ),
        item_code=_ITEM,
        channel=types_pb2.SUBMISSION_CHANNEL_WINDOW,
        applicant=ledger_pb2.Applicant(
            type=types_pb2.APPLICANT_TYPE_NATURAL_PERSON,
            name="张三",
            id_number=_PERSON + citizen_id_check_char(_PERSON),
        ),
        materials=[
            types_pb2.Material(
                name="食品经营许可申请书", sha256=hashlib.sha256(b"application").hexdigest()
            )
        ],
    )
