"""The finer rules of a case (办件) beyond its status, and field checks of every command.

A refused command, whether by a guard (IllegalTransition), ownership
(NotOwner) or a malformed field (InvalidInput), must leave the case exactly
as it was.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from caseledger.ledger.case.aggregate import Case, Context, Material, Operator
from caseledger.ledger.case.stages import Command, Status
from caseledger.ledger.codes.vocabulary import (
    CaseType,
    ConclusionResult,
    RatingChannel,
    Satisfaction,
    SpecialProcedureKind,
    SubmissionChannel,
)
from caseledger.ledger.errors import IllegalTransition, InvalidInput, NotOwner
from tests.ledger.case.case_paths import (
    ADDRESS,
    APPLICANT,
    IMMEDIATE_LIMITS,
    LICENCE_FILE,
    PROMISED_LIMITS,
    SIGNER,
    VALID,
    Step,
    accept_immediate,
    conclude_as,
    follow,
    item_ref,
    rate_bad,
    trail,
)
from tests.samples import LIXIA, PROVINCE, Clock, material

ONLINE = SubmissionChannel.ONLINE
CORRECTED = (Command.REQUEST_CORRECTION, Command.SUPPLEMENT_MATERIALS)
IN_PROCESS = (Command.ACCEPT, Command.RECORD_STEP)
APPROVED = (*IN_PROCESS, Command.CONCLUDE)
CERTIFIED = (*APPROVED, Command.ISSUE_CERTIFICATE)


def state(case: Case) -> dict[str, Any]:
    return copy.deepcopy({k: v for k, v in vars(case).items() if k != "_pending_events"})


@contextmanager
def unchanged(case: Case) -> Iterator[None]:
    """The block must leave `case` as it found it, with nothing pending."""
    trail(case)
    before = state(case)
    yield
    assert trail(case) == []
    assert state(case) == before


def refused(
    steps: tuple[Step, ...],
    command: Command,
    action: Callable[[Case, Context], None] | None = None,
    channel: SubmissionChannel = SubmissionChannel.WINDOW,
    *,
    issues_certificate: bool = True,
) -> IllegalTransition:
    """The refusal of `action` (default: `command` with valid arguments) after `steps`."""
    clock = Clock()
    case = follow(clock, steps, channel, issues_certificate=issues_certificate)
    with unchanged(case), pytest.raises(IllegalTransition) as error:
        (action or VALID[command])(case, clock.ctx())
    assert error.value.command == command.value
    return error.value


def invalid(
    steps: tuple[Step, ...],
    action: Callable[[Case, Context], None],
    channel: SubmissionChannel = SubmissionChannel.WINDOW,
) -> list[str]:
    """The field paths InvalidInput names for `action` after `steps`."""
    clock = Clock()
    case = follow(clock, steps, channel)
    with unchanged(case), pytest.raises(InvalidInput) as error:
        action(case, clock.ctx())
    return [violation.field for violation in error.value.violations]


# -- correction (补齐补正) ------------------------------------------------


@pytest.mark.parametrize(
    ("steps", "channel"),
    [
        pytest.param(CORRECTED, SubmissionChannel.WINDOW, id="window"),
        pytest.param((Command.PASS_PRE_REVIEW, *CORRECTED), ONLINE, id="after-pre-review"),
        pytest.param((*CORRECTED, Command.PASS_PRE_REVIEW), ONLINE, id="before-pre-review"),
    ],
)
def test_a_correction_may_be_requested_only_once(
    steps: tuple[Step, ...], channel: SubmissionChannel
) -> None:
    error = refused(steps, Command.REQUEST_CORRECTION, channel=channel)
    assert "only once" in error.reason


def test_supplemented_materials_return_the_case_to_where_the_correction_found_it() -> None:
    case = follow(Clock(), (Command.PASS_PRE_REVIEW, *CORRECTED), ONLINE)
    assert case.status is Status.PRE_REVIEWED
    assert case.correction_requested


# -- pre-review (预审) -----------------------------------------------------


@pytest.mark.parametrize("channel", [ONLINE, SubmissionChannel.MOBILE])
def test_an_online_submission_must_pass_pre_review_before_acceptance(
    channel: SubmissionChannel,
) -> None:
    error = refused((), Command.ACCEPT, channel=channel)
    assert "pre-review" in error.reason


def test_an_online_submission_corrected_before_pre_review_still_needs_it() -> None:
    error = refused(CORRECTED, Command.ACCEPT, channel=ONLINE)
    assert "pre-review" in error.reason


@pytest.mark.parametrize("command", [Command.PASS_PRE_REVIEW, Command.RETURN_PRE_REVIEW])
def test_a_window_submission_cannot_be_pre_reviewed(command: Command) -> None:
    error = refused((), command)
    assert "window" in error.reason


# -- extension (延期) -------------------------------------------------------


def test_the_deadline_may_be_extended_only_once() -> None:
    error = refused((*IN_PROCESS, Command.EXTEND_DEADLINE), Command.EXTEND_DEADLINE)
    assert "only once" in error.reason


@pytest.mark.parametrize(
    "steps",
    [
        pytest.param((accept_immediate,), id="accepted"),
        pytest.param((accept_immediate, Command.RECORD_STEP), id="in-process"),
    ],
)
def test_an_immediate_case_cannot_be_extended(steps: tuple[Step, ...]) -> None:
    error = refused(steps, Command.EXTEND_DEADLINE)
    assert "即办件" in error.reason


def test_an_extension_adds_ten_days_and_records_who_approved_it() -> None:
    clock = Clock()
    case = follow(clock, IN_PROCESS)
    trail(case)
    case.extend_deadline(clock.ctx(), "王局长", "需专家论证")
    [event] = trail(case)
    assert event.payload == {"days": 10, "approved_by": "王局长", "reason": "需专家论证"}
    assert case.extended


# -- conclusion (办结) ---------------------------------------------------------


@pytest.mark.parametrize(
    "result",
    [r for r in ConclusionResult if r is not ConclusionResult.NEVER_CORRECTED],
    ids=lambda r: r.name.lower(),
)
def test_a_case_awaiting_correction_concludes_only_as_never_corrected(
    result: ConclusionResult,
) -> None:
    error = refused((Command.REQUEST_CORRECTION,), Command.CONCLUDE, conclude_as(result))
    assert "补正不来" in error.reason


@pytest.mark.parametrize("steps", [(Command.ACCEPT,), IN_PROCESS], ids=["accepted", "in-process"])
def test_only_a_case_awaiting_correction_concludes_as_never_corrected(
    steps: tuple[Step, ...],
) -> None:
    error = refused(steps, Command.CONCLUDE, conclude_as(ConclusionResult.NEVER_CORRECTED))
    assert "never corrected" in error.reason


@pytest.mark.parametrize("steps", [(Command.ACCEPT,), IN_PROCESS], ids=["accepted", "in-process"])
def test_a_transfer_cannot_conclude_through_conclude(steps: tuple[Step, ...]) -> None:
    error = refused(steps, Command.CONCLUDE, conclude_as(ConclusionResult.TRANSFERRED))
    assert "handoff" in error.reason


@pytest.mark.parametrize(
    "result",
    [
        ConclusionResult.APPROVED,
        ConclusionResult.DISAPPROVED,
        ConclusionResult.RETURNED,
        ConclusionResult.VOIDED,
    ],
    ids=lambda r: r.name.lower(),
)
def test_a_handled_case_concludes_with_its_result(result: ConclusionResult) -> None:
    case = follow(Clock(), (*IN_PROCESS, conclude_as(result)))
    assert (case.status, case.result) == (Status.CONCLUDED, result.code)


# -- certificate (出证) and delivery (送达) -------------------------------------


@pytest.mark.parametrize(
    "steps",
    [
        pytest.param((*IN_PROCESS, conclude_as(r)), id=r.name.lower())
        for r in (ConclusionResult.DISAPPROVED, ConclusionResult.RETURNED, ConclusionResult.VOIDED)
    ]
    + [pytest.param((Command.REQUEST_CORRECTION, Command.CONCLUDE), id="never_corrected")],
)
def test_only_an_approved_case_gets_a_certificate(steps: tuple[Step, ...]) -> None:
    error = refused(steps, Command.ISSUE_CERTIFICATE)
    assert "approved" in error.reason


def test_a_certificate_is_issued_once() -> None:
    error = refused(CERTIFIED, Command.ISSUE_CERTIFICATE)
    assert "already issued" in error.reason


@pytest.mark.parametrize("command", [Command.DISPATCH_BY_MAIL, Command.COLLECT_AT_WINDOW])
def test_the_result_is_not_handed_over_before_its_certificate(command: Command) -> None:
    error = refused(APPROVED, command)
    assert "certificate" in error.reason


@pytest.mark.parametrize("command", [Command.DISPATCH_BY_MAIL, Command.COLLECT_AT_WINDOW])
def test_an_item_without_certificate_hands_over_the_decision_itself(command: Command) -> None:
    clock = Clock()
    case = follow(clock, APPROVED, issues_certificate=False)
    VALID[command](case, clock.ctx())
    assert case.delivery


@pytest.mark.parametrize("command", [Command.DISPATCH_BY_MAIL, Command.COLLECT_AT_WINDOW])
def test_the_result_is_handed_over_once(command: Command) -> None:
    error = refused((*CERTIFIED, Command.DISPATCH_BY_MAIL), command)
    assert "already handed over" in error.reason


@pytest.mark.parametrize(
    "steps",
    [
        pytest.param(CERTIFIED, id="not-sent"),
        pytest.param((*CERTIFIED, Command.COLLECT_AT_WINDOW), id="collected"),
    ],
)
def test_delivery_is_confirmed_only_after_mailing(steps: tuple[Step, ...]) -> None:
    error = refused(steps, Command.CONFIRM_DELIVERY)
    assert "nothing was dispatched by mail" in error.reason


def test_a_second_confirmation_says_the_mailed_result_was_already_signed_for() -> None:
    steps = (*CERTIFIED, Command.DISPATCH_BY_MAIL, Command.CONFIRM_DELIVERY)
    error = refused(steps, Command.CONFIRM_DELIVERY)
    assert "the mailed result was already signed for on 2026-03-02" in error.reason
    assert "nothing was dispatched" not in error.reason


def test_a_confirmed_mailing_marks_the_result_delivered() -> None:
    case = follow(Clock(), (*CERTIFIED, Command.DISPATCH_BY_MAIL, Command.CONFIRM_DELIVERY))
    assert case.delivery == "delivered"


# -- rating (好差评) and rectification (差评整改) --------------------------------


def test_a_case_is_rated_once() -> None:
    error = refused((*CERTIFIED, Command.RATE), Command.RATE)
    assert "already rated" in error.reason


@pytest.mark.parametrize(
    "steps",
    [
        pytest.param((), id="submitted"),
        pytest.param(IN_PROCESS, id="in-process"),
        pytest.param((Command.WITHDRAW,), id="withdrawn"),
    ],
)
def test_a_case_is_rated_only_once_decided(steps: tuple[Step, ...]) -> None:
    refused(steps, Command.RATE)


@pytest.mark.parametrize("level", [Satisfaction.DISSATISFIED, Satisfaction.VERY_DISSATISFIED])
@pytest.mark.parametrize("comment", ["", "   "], ids=["empty", "blank"])
def test_a_bad_rating_needs_a_comment_or_a_detail(level: Satisfaction, comment: str) -> None:
    fields = invalid(APPROVED, lambda c, x: c.rate(x, level, RatingChannel.PC, comment, []))
    assert fields == ["comment"]


def test_a_blank_detail_does_not_count_as_a_detail() -> None:
    bad = Satisfaction.DISSATISFIED
    fields = invalid(APPROVED, lambda c, x: c.rate(x, bad, RatingChannel.PC, "", ["", " "]))
    assert fields == ["comment"]


@pytest.mark.parametrize(
    ("comment", "details"),
    [("等候时间过长", []), ("", ["办理慢"])],
    ids=["comment", "detail"],
)
def test_a_bad_rating_with_a_comment_or_detail_opens_a_rectification(
    comment: str, details: list[str]
) -> None:
    clock = Clock()
    case = follow(clock, APPROVED)
    case.rate(clock.ctx(), Satisfaction.VERY_DISSATISFIED, RatingChannel.SMS, comment, details)
    assert case.rating == Satisfaction.VERY_DISSATISFIED.code
    assert case.rectification_open


@pytest.mark.parametrize(
    "level",
    [Satisfaction.VERY_SATISFIED, Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED],
)
def test_a_good_rating_needs_no_comment_and_opens_nothing(level: Satisfaction) -> None:
    clock = Clock()
    case = follow(clock, APPROVED)
    case.rate(clock.ctx(), level, RatingChannel.QR_CODE, "", [])
    assert not case.rectification_open


@pytest.mark.parametrize(
    "steps",
    [
        pytest.param(APPROVED, id="not-rated"),
        pytest.param((*APPROVED, Command.RATE), id="rated-good"),
        pytest.param((*APPROVED, rate_bad, Command.RECORD_RECTIFICATION), id="rectified"),
    ],
)
def test_a_rectification_needs_an_open_bad_rating(steps: tuple[Step, ...]) -> None:
    error = refused(steps, Command.RECORD_RECTIFICATION)
    assert "no bad rating" in error.reason


def test_a_rectification_closes_the_bad_rating_but_keeps_it() -> None:
    case = follow(Clock(), (*APPROVED, rate_bad, Command.RECORD_RECTIFICATION))
    assert not case.rectification_open
    assert case.rating == Satisfaction.DISSATISFIED.code


# -- who and when ----------------------------------------------------------------


def test_a_foreign_node_is_told_who_owns_the_case() -> None:
    clock = Clock()
    case = follow(clock, IN_PROCESS)
    with unchanged(case), pytest.raises(NotOwner) as error:
        case.suspend(clock.ctx(node=PROVINCE), "省级督办")
    assert (error.value.case, error.value.owner, error.value.node) == (case.number, LIXIA, PROVINCE)


def test_ownership_is_checked_before_the_status() -> None:
    clock = Clock()
    case = follow(clock, (Command.WITHDRAW,))
    with unchanged(case), pytest.raises(NotOwner):
        case.accept(clock.ctx(node=PROVINCE), "省受〔2026〕1号", CaseType.PROMISED, PROMISED_LIMITS)


def test_a_command_dated_before_the_last_event_is_invalid() -> None:
    clock = Clock()
    case = follow(clock, (Command.ACCEPT,))
    late = replace(clock.ctx(), at=case.modified_on - timedelta(microseconds=1))
    with unchanged(case), pytest.raises(InvalidInput) as error:
        case.record_step(late, "审查", "李四", "", "pass")
    assert [v.field for v in error.value.violations] == ["occurred_at"]


def test_a_command_at_the_same_instant_as_the_last_event_is_accepted() -> None:
    clock = Clock()
    case = follow(clock, (Command.ACCEPT,))
    case.record_step(replace(clock.ctx(), at=case.modified_on), "审查", "李四", "", "pass")
    assert case.status is Status.IN_PROCESS


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param({"at": datetime(2026, 3, 9, 9, 0)}, "occurred_at", id="naive-time"),
        pytest.param({"operator": Operator("", "window_clerk")}, "operator.id", id="operator"),
        pytest.param({"operator": Operator("op-1", " ")}, "operator.role", id="role"),
        pytest.param({"request_id": ""}, "request_id", id="request"),
    ],
)
def test_a_malformed_context_is_invalid(change: dict[str, Any], field: str) -> None:
    clock = Clock()
    case = follow(clock, (Command.ACCEPT,))
    ctx = replace(clock.ctx(days=7), **change)
    with unchanged(case), pytest.raises(InvalidInput) as error:
        case.record_step(ctx, "审查", "李四", "", "pass")
    assert [v.field for v in error.value.violations] == [field]


# -- field checks ----------------------------------------------------------------

BAD_SHA = "F" * 64
VALID_FROM = date(2026, 3, 19)

BAD_FIELDS = [
    # (id, steps, action, field)
    ("correction-nothing-listed", (), lambda c, x: c.request_correction(x, []), "materials"),
    ("correction-name", (), lambda c, x: c.request_correction(x, [("申请书", "缺页"), ("", "缺")]),
        "materials[1].name"),
    ("correction-reason", (), lambda c, x: c.request_correction(x, [("申请书", "")]),
        "materials[0].reason"),
    ("supplement-nothing", (Command.REQUEST_CORRECTION,),
        lambda c, x: c.supplement_materials(x, []), "materials"),
    ("supplement-sha256", (Command.REQUEST_CORRECTION,),
        lambda c, x: c.supplement_materials(x, [material(), Material("营业执照", BAD_SHA)]),
        "materials[1].sha256"),
    ("supplement-short-sha256", (Command.REQUEST_CORRECTION,),
        lambda c, x: c.supplement_materials(x, [Material("营业执照", "ab" * 31)]),
        "materials[0].sha256"),
    ("supplement-name", (Command.REQUEST_CORRECTION,),
        lambda c, x: c.supplement_materials(x, [Material(" ", LICENCE_FILE)]),
        "materials[0].name"),
    ("accept-notice-no", (),
        lambda c, x: c.accept(x, "", CaseType.PROMISED, PROMISED_LIMITS), "notice_no"),
    ("refuse-notice-no", (),
        lambda c, x: c.refuse_acceptance(x, "  ", "不属于本机关职权", "第三十二条"), "notice_no"),
    ("refuse-reason", (),
        lambda c, x: c.refuse_acceptance(x, "历不受〔2026〕8号", "", "第三十二条"), "reason"),
    ("refuse-legal-basis", (),
        lambda c, x: c.refuse_acceptance(x, "历不受〔2026〕8号", "不属于本机关职权", ""),
        "legal_basis"),
    ("step-action", (Command.ACCEPT,),
        lambda c, x: c.record_step(x, "审批", "李四", "同意", "approve"), "action"),
    ("step-name", (Command.ACCEPT,), lambda c, x: c.record_step(x, "", "李四", "", "pass"),
        "step"),
    ("step-handler", (Command.ACCEPT,), lambda c, x: c.record_step(x, "审批", "", "", "return"),
        "handler"),
    ("special-procedure-reason", (Command.ACCEPT,),
        lambda c, x: c.start_special_procedure(x, SpecialProcedureKind.HEARING, ""), "reason"),
    ("special-procedure-outcome", (Command.ACCEPT, Command.START_SPECIAL_PROCEDURE),
        lambda c, x: c.end_special_procedure(x, ""), "outcome"),
    ("suspend-reason", (Command.ACCEPT,), lambda c, x: c.suspend(x, ""), "reason"),
    ("extension-approver", (Command.ACCEPT,), lambda c, x: c.extend_deadline(x, "", "论证"),
        "approved_by"),
    ("extension-reason", (Command.ACCEPT,), lambda c, x: c.extend_deadline(x, "王局长", ""),
        "reason"),
    ("certificate-sha256", APPROVED,
        lambda c, x: c.issue_certificate(x, "JY1", BAD_SHA, VALID_FROM, None), "file_sha256"),
    ("certificate-validity", APPROVED,
        lambda c, x: c.issue_certificate(
            x, "JY1", LICENCE_FILE, VALID_FROM, VALID_FROM - timedelta(days=1)),
        "valid_until"),
    ("certificate-licence-id", APPROVED,
        lambda c, x: c.issue_certificate(x, "", LICENCE_FILE, VALID_FROM, None), "licence_id"),
    ("mail-carrier", CERTIFIED, lambda c, x: c.dispatch_by_mail(x, "", "1100", ADDRESS),
        "carrier"),
    ("mail-tracking-no", CERTIFIED, lambda c, x: c.dispatch_by_mail(x, "EMS", " ", ADDRESS),
        "tracking_no"),
    ("withdraw-reason", (), lambda c, x: c.withdraw(x, ""), "reason"),
    ("rectification-response", (*APPROVED, rate_bad),
        lambda c, x: c.record_rectification(x, "", "增设提示"), "response"),
    ("rectification-fix", (*APPROVED, rate_bad),
        lambda c, x: c.record_rectification(x, "已回访", ""), "fix"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("steps", "action", "field"),
    [pytest.param(steps, action, field, id=name) for name, steps, action, field in BAD_FIELDS],
)
def test_a_malformed_field_is_named_and_nothing_is_written(
    steps: tuple[Step, ...], action: Callable[[Case, Context], None], field: str
) -> None:
    assert invalid(steps, action) == [field]


@pytest.mark.parametrize(
    ("action", "field"),
    [
        pytest.param(lambda c, x: c.pass_pre_review(x, " "), "opinion", id="opinion"),
        pytest.param(lambda c, x: c.return_pre_review(x, ""), "reason", id="return-reason"),
    ],
)
def test_a_pre_review_without_its_text_is_invalid(
    action: Callable[[Case, Context], None], field: str
) -> None:
    assert invalid((), action, ONLINE) == [field]


def test_a_certificate_may_be_valid_for_a_single_day_or_without_end() -> None:
    clock = Clock()
    case = follow(clock, APPROVED)
    case.issue_certificate(clock.ctx(), "JY1", LICENCE_FILE, VALID_FROM, VALID_FROM)
    other = follow(clock, APPROVED)
    other.issue_certificate(clock.ctx(), "JY2", LICENCE_FILE, VALID_FROM, None)
    assert (case.certificate, other.certificate) == ("JY1", "JY2")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param({"number": " "}, "number", id="number"),
        pytest.param({"materials": []}, "materials", id="no-materials"),
        pytest.param(
            {"materials": [material(), Material("营业执照复印件", BAD_SHA)]},
            "materials[1].sha256",
            id="sha256",
        ),
    ],
)
def test_a_malformed_submission_is_invalid(change: dict[str, Any], field: str) -> None:
    clock = Clock()
    arguments: dict[str, Any] = {
        "number": "370102202603020000001",
        "item": item_ref(),
        "channel": SubmissionChannel.WINDOW,
        "applicant": APPLICANT,
        "materials": [material()],
    } | change
    with pytest.raises(InvalidInput) as error:
        Case.submit(uuid4(), clock.ctx(), **arguments)
    assert [v.field for v in error.value.violations] == [field]


def test_an_immediate_case_is_accepted_with_same_day_limits() -> None:
    case = follow(Clock(), (accept_immediate,))
    assert (case.case_type, case.limits) == (CaseType.IMMEDIATE.code, IMMEDIATE_LIMITS)


def test_a_collected_result_records_the_sealed_signer() -> None:
    clock = Clock()
    case = follow(clock, CERTIFIED)
    trail(case)
    case.collect_at_window(clock.ctx(), SIGNER)
    [event] = trail(case)
    assert event.payload == {"signer": SIGNER.to_json()}
    assert "张三" not in str(event.payload)
