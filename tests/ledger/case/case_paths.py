"""Paths through the stage model of a case (办件), for the `Case` tests.

`VALID` runs each command with arguments that pass every field check, so
whether it succeeds depends only on the stage model. A path is a list of
steps, each a `Command` (run with its valid arguments) or an `Action` for a
variant such as an immediate acceptance or a bad rating.

`chain_faults` checks a trail's hashes the way an outside verifier does: the
hashed object is built here from docs/canonical.md and encoded by the command
line's verifier (`caseledger.cli.audit.trail`), not by the ledger's own code.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time
from typing import Any
from uuid import uuid4

from caseledger.cli.audit.trail import canonical_json as verifier_canonical_json
from caseledger.ledger.case.aggregate import Case, Context, ItemRef, Material
from caseledger.ledger.case.events import CHINA_TIME, CaseEvent, china_date
from caseledger.ledger.case.stages import Command, Status
from caseledger.ledger.codes.numbering import format_number
from caseledger.ledger.codes.vocabulary import (
    CaseType,
    ConclusionResult,
    RatingChannel,
    Satisfaction,
    SpecialProcedureKind,
    SubmissionChannel,
)
from caseledger.ledger.intake import seal_applicant
from caseledger.ledger.personal.keystore import MemorySubjectKeyStore
from caseledger.ledger.personal.sealing import SubjectKeys
from caseledger.ledger.timelimits.deadlines import TimeLimits
from caseledger.ledger.trail.canonical import digest
from tests.samples import LIXIA, Clock, applicant, food_licence_terms, material

KEYS = SubjectKeys(MemorySubjectKeyStore())
APPLICANT = seal_applicant(applicant(), KEYS)
SIGNER = KEYS.seal(APPLICANT.subject, "name", "张三")
ADDRESS = KEYS.seal(APPLICANT.subject, "address", "济南市历下区解放路1号")
PROMISED_LIMITS = food_licence_terms().limits
IMMEDIATE_LIMITS = TimeLimits(statutory_days=0, promised_days=0)
LICENCE_FILE = digest({"licence": "JY23701020000001"})

Action = Callable[[Case, Context], None]
Step = Command | Action

HANDOFF = frozenset({Command.REQUEST_TRANSFER, Command.ACCEPT_TRANSFER, Command.REJECT_TRANSFER})
"""Commands between two nodes: the owner asks, the target answers (with its own context)."""

TRANSFER_TARGET = "370100000000"
"""济南市, the city above Lixia: where `VALID` transfers a case to (转报)."""

COMMANDS = tuple(
    command for command in Command if command is not Command.SUBMIT and command not in HANDOFF
)
"""Every command that runs on an existing case."""


def item_ref(*, issues_certificate: bool = True) -> ItemRef:
    terms = food_licence_terms()
    return ItemRef(
        basic_code=str(terms.implementation_code.basic_code),
        implementation_code=str(terms.implementation_code),
        name=terms.name,
        issues_certificate=issues_certificate,
    )


def submit(
    clock: Clock,
    channel: SubmissionChannel = SubmissionChannel.WINDOW,
    *,
    issues_certificate: bool = True,
    materials: Sequence[Material] = (),
) -> Case:
    ctx = clock.ctx()
    return Case.submit(
        uuid4(),
        ctx,
        number=format_number(LIXIA, china_date(ctx.at), clock.serial),
        item=item_ref(issues_certificate=issues_certificate),
        channel=channel,
        applicant=APPLICANT,
        materials=list(materials) or [material(), material("营业执照复印件")],
    )


def _conclude(case: Case, ctx: Context) -> None:
    # The only result a case awaiting correction can conclude with (补正不来).
    result = (
        ConclusionResult.NEVER_CORRECTED
        if case.status is Status.AWAITING_CORRECTION
        else ConclusionResult.APPROVED
    )
    case.conclude(ctx, result, "历审批〔2026〕18号", "")


VALID: dict[Command, Action] = {
    Command.PASS_PRE_REVIEW: lambda c, x: c.pass_pre_review(x, "材料齐全，预审通过"),
    Command.RETURN_PRE_REVIEW: lambda c, x: c.return_pre_review(x, "非本级受理事项"),
    Command.REQUEST_CORRECTION: lambda c, x: c.request_correction(
        x, [("营业执照复印件", "未加盖公章")]
    ),
    Command.SUPPLEMENT_MATERIALS: lambda c, x: c.supplement_materials(
        x, [material("营业执照复印件（盖章）")]
    ),
    Command.ACCEPT: lambda c, x: c.accept(
        x, "历受〔2026〕101号", CaseType.PROMISED, PROMISED_LIMITS
    ),
    Command.REFUSE_ACCEPTANCE: lambda c, x: c.refuse_acceptance(
        x, "历不受〔2026〕7号", "申请事项不属于本机关职权范围", "《行政许可法》第三十二条"
    ),
    Command.RECORD_STEP: lambda c, x: c.record_step(x, "审查", "李四", "符合条件", "pass"),
    Command.START_SPECIAL_PROCEDURE: lambda c, x: c.start_special_procedure(
        x, SpecialProcedureKind.SITE_CHECK, "经营场所需实地核查"
    ),
    Command.END_SPECIAL_PROCEDURE: lambda c, x: c.end_special_procedure(x, "核查符合要求"),
    Command.SUSPEND: lambda c, x: c.suspend(x, "申请人申请暂停办理"),
    Command.RESUME: lambda c, x: c.resume(x, ""),
    Command.EXTEND_DEADLINE: lambda c, x: c.extend_deadline(x, "王局长", "需补充技术审查"),
    Command.CONCLUDE: _conclude,
    Command.ISSUE_CERTIFICATE: lambda c, x: c.issue_certificate(
        x, "JY23701020000001", LICENCE_FILE, date(2026, 3, 20), date(2031, 3, 19)
    ),
    Command.DISPATCH_BY_MAIL: lambda c, x: c.dispatch_by_mail(
        x, "中国邮政EMS", "1100123456789", ADDRESS
    ),
    Command.COLLECT_AT_WINDOW: lambda c, x: c.collect_at_window(x, SIGNER),
    # Signed for on the day it is recorded: neither in the future nor before the dispatch.
    Command.CONFIRM_DELIVERY: lambda c, x: c.confirm_delivery(x, SIGNER, china_date(x.at)),
    Command.WITHDRAW: lambda c, x: c.withdraw(x, "申请人主动撤回"),
    Command.RATE: lambda c, x: c.rate(x, Satisfaction.SATISFIED, RatingChannel.MOBILE, "", []),
    Command.RECORD_RECTIFICATION: lambda c, x: c.record_rectification(
        x, "已电话回访申请人并致歉", "窗口增设材料预审提示"
    ),
    Command.REQUEST_TRANSFER: lambda c, x: c.request_transfer(x, TRANSFER_TARGET, "转报市级审批"),
    Command.ACCEPT_TRANSFER: lambda c, x: c.accept_transfer(x),
    Command.REJECT_TRANSFER: lambda c, x: c.reject_transfer(x, "本级未实施该事项"),
}


def accept_immediate(case: Case, ctx: Context) -> None:
    case.accept(ctx, "历受〔2026〕102号", CaseType.IMMEDIATE, IMMEDIATE_LIMITS)


def conclude_as(result: ConclusionResult) -> Action:
    def conclude(case: Case, ctx: Context) -> None:
        case.conclude(ctx, result, "历审批〔2026〕19号", result.label)

    return conclude


def return_step(case: Case, ctx: Context) -> None:
    case.record_step(ctx, "审核", "赵六", "材料与现场不符，退回重审", "return")


def rate_bad(case: Case, ctx: Context) -> None:
    case.rate(ctx, Satisfaction.DISSATISFIED, RatingChannel.PC, "窗口办理时间过长", ["办理慢"])


def follow(
    clock: Clock,
    steps: Sequence[Step],
    channel: SubmissionChannel = SubmissionChannel.WINDOW,
    *,
    issues_certificate: bool = True,
) -> Case:
    """A case submitted through `channel` that went through `steps`."""
    case = submit(clock, channel, issues_certificate=issues_certificate)
    for step in steps:
        action = VALID[step] if isinstance(step, Command) else step
        action(case, clock.ctx())
    return case


def on(clock: Clock, day: date) -> Context:
    """A context at 10:00 Beijing time on `day`, which must not be in the clock's past."""
    clock.now = datetime.combine(day, time(9, 59), CHINA_TIME)
    return clock.ctx()


def trail(case: Case) -> list[CaseEvent]:
    """The pending events of `case`, collected."""
    events = case.collect_events()
    assert all(isinstance(event, CaseEvent) for event in events)
    return [event for event in events if isinstance(event, CaseEvent)]


def documented_hash(event: CaseEvent) -> str:
    """The event's hash as docs/canonical.md defines it, computed apart from the ledger."""
    hashed: dict[str, Any] = {
        "case": str(event.originator_id),
        "version": event.originator_version,
        "type": event.stage,
        "occurred_at": event.timestamp.astimezone(UTC).isoformat(timespec="microseconds"),
        "node": event.node,
        "operator": {"id": event.operator_id, "role": event.operator_role},
        "request": {"id": event.request_id, "digest": event.request_digest},
        "payload": event.payload,
        "prev": event.prev_hash,
    }
    return hashlib.sha256(verifier_canonical_json(hashed)).hexdigest()


def chain_faults(events: Sequence[CaseEvent]) -> list[str]:
    """Where a case's trail breaks its hash chain; empty when it verifies."""
    faults = []
    previous = "0" * 64  # docs/canonical.md: the first event's prev
    for index, event in enumerate(events):
        if event.originator_version != index + 1:
            faults.append(f"event {index} ({event.stage}): version {event.originator_version}")
        if event.prev_hash != previous:
            faults.append(f"event {index} ({event.stage}): prev_hash is not the previous hash")
        if documented_hash(event) != event.hash:
            faults.append(f"event {index} ({event.stage}): hash does not match its content")
        previous = event.hash
    return faults
