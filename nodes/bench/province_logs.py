"""Source logs for the province harness (P6, `province`): real events, made by the ledger itself.

Each simulated township is a `CaseLedger` of its own division code on the
in-memory store. It publishes the catalogue item, opens cases, accepts them
and records review steps, so its log is what a township's is: hash-chained
case events, case-number claims and a catalogue event, every one of which
the province verifies as it would a real township's. Made before the
measurement, outside the province's process.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from caseledger.ledger.application import CaseLedger
from caseledger.ledger.case.aggregate import Context, Material, Operator
from caseledger.ledger.catalogue import ItemTerms
from caseledger.ledger.codes.identifiers import (
    ItemImplementationCode,
    citizen_id_check_char,
    credit_code_check_char,
)
from caseledger.ledger.codes.vocabulary import (
    ApplicantType,
    CaseType,
    ExercisingLevel,
    ItemType,
    SubmissionChannel,
)
from caseledger.ledger.intake import ApplicantForm
from caseledger.ledger.personal.keystore import MemorySubjectKeyStore
from caseledger.ledger.personal.sealing import SubjectKeys
from caseledger.ledger.timelimits.deadlines import TimeLimits
from caseledger.nodes.replication.records import record_of
from caseledger.v1 import log_pb2

_BASIC_CODE = "4370100200001"  # 食品经营许可, as a county-level item
_PERSON = "37010219900307123"
_MATERIAL = "食品经营许可申请书"
_STEPS_PER_CASE = 5  # after the submission (two events) and the acceptance
_START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def _item(code: str) -> str:
    """The township's own implementation of the item: each township's bureau
    has its credit code, so no two townships publish the same catalogue item
    (the province would hold one copy of it, and take the others as repeats)."""
    bureau = f"11{code[:6]}MB{code[6:9]}0001"
    return f"{bureau}{credit_code_check_char(bureau)}{_BASIC_CODE}"


def _terms(code: str) -> ItemTerms:
    return ItemTerms(
        implementation_code=ItemImplementationCode.parse(_item(code)),
        name="食品经营许可证核发",
        item_type=ItemType.LICENSING,
        exercising_level=ExercisingLevel.COUNTY,
        case_type=CaseType.PROMISED,
        limits=TimeLimits(statutory_days=20, promised_days=10),
        required_materials=(_MATERIAL,),
        issues_certificate=True,
    )


class _Clock:
    def __init__(self, node: str) -> None:
        self.node, self.now, self.serial = node, _START, 0

    def ctx(self, role: str) -> Context:
        self.now += timedelta(minutes=1)
        self.serial += 1
        return Context(
            node=self.node,
            operator=Operator(id=f"sim-{role}", role=role),
            at=self.now,
            request_id=f"sim-{self.node}-{self.serial}",
            request_digest=f"sim-{self.serial}",
        )


def township_log(code: str, events: int) -> list[log_pb2.LogRecord]:
    """The first `events` records of a simulated township's log (at least one)."""
    ledger = CaseLedger(
        code, SubjectKeys(MemorySubjectKeyStore()), env={"PERSISTENCE_MODULE": "eventsourcing.popo"}
    )
    try:
        terms = _terms(code)
        ledger.publish_item(terms, Operator(id="sim-catalogue", role="catalogue_admin"))
        clock = _Clock(code)
        person = _PERSON + citizen_id_check_char(_PERSON)
        material = Material(_MATERIAL, hashlib.sha256(_MATERIAL.encode()).hexdigest())
        while (ledger.recorder.max_notification_id() or 0) < events:
            outcome = ledger.submit(
                clock.ctx("window_clerk"),
                str(terms.implementation_code),
                SubmissionChannel.WINDOW,
                ApplicantForm(ApplicantType.NATURAL_PERSON, "张三", person),
                [material],
            )
            ledger.execute(
                outcome.case_id,
                clock.ctx("window_clerk"),
                lambda case, ctx: case.accept(
                    ctx, "受1号", CaseType.PROMISED, terms.limits, required_materials=(_MATERIAL,)
                ),
            )
            for _ in range(_STEPS_PER_CASE):
                ledger.execute(
                    outcome.case_id,
                    clock.ctx("reviewer"),
                    lambda case, ctx: case.record_step(ctx, "审查", "sim", "同意", "pass"),
                )
        notifications = ledger.recorder.select_notifications(start=1, limit=events)
        return [record_of(n) for n in notifications]
    finally:
        ledger.close()
