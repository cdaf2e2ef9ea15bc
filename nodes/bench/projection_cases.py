"""The case trails benchmark P5 rebuilds views from.

A few template cases are driven through a node's ledger in memory, one per
path a service hall sees (still submitted, accepted and open, concluded on
time and rated well, rated badly and rectified, withdrawn, refused); their
stored events are then copied under fresh case ids, trail after trail,
until the log holds the events asked for. Every copy decodes and folds as
the original does, so a rebuild does real work on every event.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from eventsourcing.persistence import StoredEvent

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
    ConclusionResult,
    ExercisingLevel,
    ItemType,
    RatingChannel,
    Satisfaction,
    SubmissionChannel,
)
from caseledger.ledger.intake import ApplicantForm
from caseledger.ledger.personal.keystore import MemorySubjectKeyStore
from caseledger.ledger.personal.sealing import SubjectKeys
from caseledger.ledger.timelimits.deadlines import TimeLimits

__all__ = ["NODE", "template_trails", "trails"]

NODE = "370102000000"
_BUREAU = "11370102MB2859013"
_ITEM = f"{_BUREAU}{credit_code_check_char(_BUREAU)}4370100200001"
_PERSON = "37010219900307123"
_LIMITS = TimeLimits(statutory_days=20, promised_days=10)

Act = Callable[[Any, Context], None]


def _accept(case: Any, ctx: Context) -> None:
    case.accept(ctx, "受〔2026〕1号", CaseType.PROMISED, _LIMITS)


def _step(case: Any, ctx: Context) -> None:
    case.record_step(ctx, "审查", "李四", "符合条件", "pass")


def _conclude(case: Any, ctx: Context) -> None:
    case.conclude(ctx, ConclusionResult.APPROVED, "审批〔2026〕18号", "")


def _rate_well(case: Any, ctx: Context) -> None:
    case.rate(ctx, Satisfaction.VERY_SATISFIED, RatingChannel.MOBILE, "", [])


def _rate_badly(case: Any, ctx: Context) -> None:
    case.rate(ctx, Satisfaction.DISSATISFIED, RatingChannel.PC, "太慢", ["办理慢"])


_PATHS: tuple[tuple[Act, ...], ...] = (
    (),
    (_accept, _step),
    (_accept, _step, _conclude, _rate_well),
    (
        _accept,
        _step,
        _step,
        _conclude,
        _rate_badly,
        lambda c, x: c.record_rectification(x, "已回访", "增设提示"),
    ),
    (_accept, lambda c, x: c.withdraw(x, "主动撤回")),
    (lambda c, x: c.refuse_acceptance(x, "不受〔2026〕7号", "不属于本机关", "第三十二条"),),
)


def _terms() -> ItemTerms:
    return ItemTerms(
        implementation_code=ItemImplementationCode.parse(_ITEM),
        name="食品经营许可证核发",
        item_type=ItemType.LICENSING,
        exercising_level=ExercisingLevel.COUNTY,
        case_type=CaseType.PROMISED,
        limits=_LIMITS,
        required_materials=("食品经营许可申请书",),
        issues_certificate=True,
    )


def template_trails() -> list[list[StoredEvent]]:
    """One stored trail per path, as the node's log holds it."""
    memory = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    ledger = CaseLedger(NODE, SubjectKeys(MemorySubjectKeyStore()), memory)
    ledger.publish_item(_terms())
    applicant = ApplicantForm(
        ApplicantType.NATURAL_PERSON, "张三", _PERSON + citizen_id_check_char(_PERSON)
    )
    material = Material("食品经营许可申请书", hashlib.sha256(b"application").hexdigest())
    at = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    serial = 0

    def ctx() -> Context:
        nonlocal at, serial
        at += timedelta(days=1)
        serial += 1
        return Context(NODE, Operator("bench", "window_clerk"), at, f"r{serial}", f"d{serial}")

    trails = []
    for path in _PATHS:
        outcome = ledger.submit(ctx(), _ITEM, SubmissionChannel.WINDOW, applicant, [material])
        for act in path:
            ledger.execute(outcome.case_id, ctx(), act)
        trails.append(list(ledger.recorder.select_events(outcome.case_id)))
    ledger.close()
    return trails


def trails(events: int) -> Iterator[list[StoredEvent]]:
    """Trails copied from the templates under fresh case ids, `events` events in all
    (the last trail cut short)."""
    templates = template_trails()
    left = events
    while left > 0:
        for template in templates:
            case_id = uuid.uuid4()
            copy = [replace(stored, originator_id=case_id) for stored in template[:left]]
            left -= len(copy)
            yield copy
            if left <= 0:
                return
