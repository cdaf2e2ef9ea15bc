"""Every command in every reachable state of a case (办件), against a table written by hand.

Each scenario names a distinct state (status and the flags that matter:
channel, correction already used, extension used, case type, result,
certificate, delivery, rating) and lists the commands that are legal there,
with the status each one leads to. Everything not listed must be refused.
The table is the domain's rules read from docs/domain.md (the stage model),
not a copy of `stages.ALLOWED`.

Every command is in it. The handoff between nodes (转报 / 下发 / 跨域) is
legal wherever a case may move; the target's answer wherever a transfer is
pending, which is no status, so it has a test of its own. Submission opens a
case and is legal in no state of one; it runs on a node's ledger, so it too
has a test of its own.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest

from caseledger.ledger.application import CaseLedger
from caseledger.ledger.case.aggregate import Case, Context
from caseledger.ledger.case.stages import Command, Status
from caseledger.ledger.codes.vocabulary import (
    CaseType,
    ConclusionResult,
    SpecialProcedureKind,
    SubmissionChannel,
)
from caseledger.ledger.errors import IllegalTransition, NotOwner, RequestReused
from caseledger.ledger.personal.keystore import MemorySubjectKeyStore
from caseledger.ledger.personal.sealing import SubjectKeys
from caseledger.ledger.timelimits.calendar import WorkingCalendar
from caseledger.ledger.timelimits.deadlines import ClockMark, ClockMarkKind, DeadlineStatus, assess
from tests.ledger.case.case_paths import (
    COMMANDS,
    PROMISED_LIMITS,
    TRANSFER_TARGET,
    VALID,
    Step,
    accept_immediate,
    conclude_as,
    follow,
    on,
    rate_bad,
    return_step,
    trail,
)
from tests.samples import LIXIA, PROVINCE, Clock, applicant, food_licence_terms, material

WINDOW = SubmissionChannel.WINDOW
ONLINE = SubmissionChannel.ONLINE

EVENT_OF: Mapping[Command, str] = {
    Command.PASS_PRE_REVIEW: "PreReviewPassed",
    Command.RETURN_PRE_REVIEW: "PreReviewReturned",
    Command.REQUEST_CORRECTION: "CorrectionRequested",
    Command.SUPPLEMENT_MATERIALS: "MaterialsSupplemented",
    Command.ACCEPT: "Accepted",
    Command.REFUSE_ACCEPTANCE: "AcceptanceRefused",
    Command.RECORD_STEP: "StepRecorded",
    Command.START_SPECIAL_PROCEDURE: "SpecialProcedureStarted",
    Command.END_SPECIAL_PROCEDURE: "SpecialProcedureEnded",
    Command.SUSPEND: "Suspended",
    Command.RESUME: "Resumed",
    Command.EXTEND_DEADLINE: "DeadlineExtended",
    Command.CONCLUDE: "Concluded",
    Command.ISSUE_CERTIFICATE: "CertificateIssued",
    Command.DISPATCH_BY_MAIL: "DispatchedByMail",
    Command.COLLECT_AT_WINDOW: "CollectedAtWindow",
    Command.CONFIRM_DELIVERY: "DeliveryConfirmed",
    Command.WITHDRAW: "Withdrawn",
    Command.RATE: "Rated",
    Command.RECORD_RECTIFICATION: "RectificationRecorded",
    Command.REQUEST_TRANSFER: "TransferRequested",
    Command.ACCEPT_TRANSFER: "TransferAccepted",
    Command.REJECT_TRANSFER: "TransferRejected",
}
"""The one event each command appends."""

ANSWERS = (Command.ACCEPT_TRANSFER, Command.REJECT_TRANSFER)
"""The target's answers to a transfer: run with the target's context."""

TABLE = (*COMMANDS, Command.REQUEST_TRANSFER, *ANSWERS)
"""Every command that runs on an existing case."""

OVER = frozenset({Status.WITHDRAWN, Status.RETURNED, Status.REFUSED})
"""A case that is over stays where it is; any other may move to another node,
for processing (转报 up, 跨域 sideways) or for delivery (下发 down)."""


@dataclass(frozen=True)
class Scenario:
    """A named state: how to reach it, its status, and what may happen next."""

    name: str
    steps: tuple[Step, ...]
    status: Status
    legal: Mapping[Command, Status]
    """Each legal command and the status it leads to."""
    channel: SubmissionChannel = WINDOW
    issues_certificate: bool = True
    known_defects: Mapping[Command, str] = field(default_factory=dict)
    """Expectations the domain does not meet yet: command -> the defect."""

    def build(self, clock: Clock) -> Case:
        case = follow(clock, self.steps, self.channel, issues_certificate=self.issues_certificate)
        assert case.status is self.status, f"{self.name} reached {case.status}"
        trail(case)
        return case

    @property
    def movable(self) -> bool:
        return self.status not in OVER

    @property
    def legal_now(self) -> Mapping[Command, Status]:
        """What may run with no transfer pending: the listed commands and, where
        the case may move, a transfer request (the case keeps its status)."""
        if not self.movable:
            return self.legal
        return {**self.legal, Command.REQUEST_TRANSFER: self.status}


# -- the states, and what may happen in each -----------------------------

ACCEPT = Command.ACCEPT
STEP = Command.RECORD_STEP
CONCLUDE = Command.CONCLUDE
CERTIFY = Command.ISSUE_CERTIFICATE

BEFORE_ACCEPTANCE = {
    Command.ACCEPT: Status.ACCEPTED,
    Command.REFUSE_ACCEPTANCE: Status.REFUSED,
    Command.WITHDRAW: Status.WITHDRAWN,
}
PRE_REVIEW = {
    Command.PASS_PRE_REVIEW: Status.PRE_REVIEWED,
    Command.RETURN_PRE_REVIEW: Status.RETURNED,
    Command.REFUSE_ACCEPTANCE: Status.REFUSED,
    Command.WITHDRAW: Status.WITHDRAWN,
}


def awaiting_correction(back_to: Status) -> dict[Command, Status]:
    return {
        Command.SUPPLEMENT_MATERIALS: back_to,
        Command.CONCLUDE: Status.CONCLUDED,
        Command.WITHDRAW: Status.WITHDRAWN,
    }


def handling(status: Status, *, extendable: bool) -> dict[Command, Status]:
    legal = {
        Command.RECORD_STEP: Status.IN_PROCESS,
        Command.START_SPECIAL_PROCEDURE: Status.SPECIAL_PROCEDURE,
        Command.SUSPEND: Status.SUSPENDED,
        Command.CONCLUDE: Status.CONCLUDED,
        Command.WITHDRAW: Status.WITHDRAWN,
    }
    if extendable:
        legal[Command.EXTEND_DEADLINE] = status
    return legal


def handed_over(status: Status) -> dict[Command, Status]:
    """A decision (or refusal) ready to be mailed or collected."""
    return {Command.DISPATCH_BY_MAIL: status, Command.COLLECT_AT_WINDOW: status}


CONCLUDED = Status.CONCLUDED
RATE = {Command.RATE: CONCLUDED}
RECTIFY = {Command.RECORD_RECTIFICATION: CONCLUDED}
STOPPED_BY_SUSPENSION = {Command.RESUME: Status.IN_PROCESS, Command.WITHDRAW: Status.WITHDRAWN}
IN_SPECIAL_PROCEDURE = {
    Command.END_SPECIAL_PROCEDURE: Status.IN_PROCESS,
    Command.WITHDRAW: Status.WITHDRAWN,
}
APPROVED_CASE = (ACCEPT, STEP, CONCLUDE)
CERTIFIED_CASE = (*APPROVED_CASE, CERTIFY)
DISAPPROVED_CASE = (ACCEPT, STEP, conclude_as(ConclusionResult.DISAPPROVED))
SUSPENDED_CASE = (ACCEPT, STEP, Command.SUSPEND)
IN_SPECIAL_PROCEDURE_CASE = (ACCEPT, STEP, Command.START_SPECIAL_PROCEDURE)
EXTENDED_CASE = (ACCEPT, STEP, Command.EXTEND_DEADLINE)
CORRECTED = (Command.REQUEST_CORRECTION, Command.SUPPLEMENT_MATERIALS)

SCENARIOS = (
    # -- before acceptance: submission, pre-review, correction ----------
    Scenario("window_submitted", (), Status.SUBMITTED, {
        Command.REQUEST_CORRECTION: Status.AWAITING_CORRECTION, **BEFORE_ACCEPTANCE}),
    Scenario("online_submitted", (), Status.SUBMITTED, {
        Command.REQUEST_CORRECTION: Status.AWAITING_CORRECTION, **PRE_REVIEW}, ONLINE),
    Scenario("mobile_submitted", (), Status.SUBMITTED, {
        Command.REQUEST_CORRECTION: Status.AWAITING_CORRECTION, **PRE_REVIEW},
        SubmissionChannel.MOBILE),
    Scenario("online_pre_reviewed", (Command.PASS_PRE_REVIEW,), Status.PRE_REVIEWED, {
        Command.REQUEST_CORRECTION: Status.AWAITING_CORRECTION, **BEFORE_ACCEPTANCE}, ONLINE),
    Scenario("window_awaiting_correction", (Command.REQUEST_CORRECTION,),
        Status.AWAITING_CORRECTION, awaiting_correction(Status.SUBMITTED)),
    Scenario("online_awaiting_correction_before_pre_review", (Command.REQUEST_CORRECTION,),
        Status.AWAITING_CORRECTION, awaiting_correction(Status.SUBMITTED), ONLINE),
    Scenario("pre_reviewed_awaiting_correction",
        (Command.PASS_PRE_REVIEW, Command.REQUEST_CORRECTION),
        Status.AWAITING_CORRECTION, awaiting_correction(Status.PRE_REVIEWED), ONLINE),
    Scenario("window_corrected", CORRECTED, Status.SUBMITTED, BEFORE_ACCEPTANCE),
    Scenario("online_corrected_before_pre_review", CORRECTED, Status.SUBMITTED, PRE_REVIEW,
        ONLINE),
    Scenario("pre_reviewed_corrected", (Command.PASS_PRE_REVIEW, *CORRECTED),
        Status.PRE_REVIEWED, BEFORE_ACCEPTANCE, ONLINE),
    Scenario("returned_at_pre_review", (Command.RETURN_PRE_REVIEW,), Status.RETURNED, {
        Command.RATE: Status.RETURNED}, ONLINE),
    Scenario("returned_rated_bad", (Command.RETURN_PRE_REVIEW, rate_bad), Status.RETURNED, {
        Command.RECORD_RECTIFICATION: Status.RETURNED}, ONLINE),
    Scenario("returned_rectified",
        (Command.RETURN_PRE_REVIEW, rate_bad, Command.RECORD_RECTIFICATION),
        Status.RETURNED, {}, ONLINE),
    # -- refusal (不予受理) ---------------------------------------------
    Scenario("refused", (Command.REFUSE_ACCEPTANCE,), Status.REFUSED, {
        **handed_over(Status.REFUSED), Command.RATE: Status.REFUSED}),
    Scenario("refused_after_correction", (*CORRECTED, Command.REFUSE_ACCEPTANCE),
        Status.REFUSED, {**handed_over(Status.REFUSED), Command.RATE: Status.REFUSED}),
    Scenario("refused_dispatched", (Command.REFUSE_ACCEPTANCE, Command.DISPATCH_BY_MAIL),
        Status.REFUSED, {
            Command.CONFIRM_DELIVERY: Status.REFUSED, Command.RATE: Status.REFUSED}),
    Scenario("refused_collected", (Command.REFUSE_ACCEPTANCE, Command.COLLECT_AT_WINDOW),
        Status.REFUSED, {Command.RATE: Status.REFUSED}),
    Scenario("refused_rated_bad", (Command.REFUSE_ACCEPTANCE, rate_bad), Status.REFUSED, {
        **handed_over(Status.REFUSED), Command.RECORD_RECTIFICATION: Status.REFUSED}),
    # -- handling -----------------------------------------------------
    Scenario("accepted", (ACCEPT,), Status.ACCEPTED,
        handling(Status.ACCEPTED, extendable=True)),
    Scenario("online_accepted", (Command.PASS_PRE_REVIEW, ACCEPT), Status.ACCEPTED,
        handling(Status.ACCEPTED, extendable=True), ONLINE),
    Scenario("accepted_after_correction", (*CORRECTED, ACCEPT), Status.ACCEPTED,
        handling(Status.ACCEPTED, extendable=True)),
    Scenario("immediate_accepted", (accept_immediate,), Status.ACCEPTED,
        handling(Status.ACCEPTED, extendable=False)),
    Scenario("in_process", (ACCEPT, STEP), Status.IN_PROCESS,
        handling(Status.IN_PROCESS, extendable=True)),
    Scenario("step_returned", (ACCEPT, return_step), Status.IN_PROCESS,
        handling(Status.IN_PROCESS, extendable=True)),
    Scenario("immediate_in_process", (accept_immediate, STEP), Status.IN_PROCESS,
        handling(Status.IN_PROCESS, extendable=False)),
    Scenario("special_procedure", IN_SPECIAL_PROCEDURE_CASE, Status.SPECIAL_PROCEDURE,
        IN_SPECIAL_PROCEDURE),
    Scenario("special_procedure_from_accepted", (ACCEPT, Command.START_SPECIAL_PROCEDURE),
        Status.SPECIAL_PROCEDURE, IN_SPECIAL_PROCEDURE),
    Scenario("special_procedure_ended",
        (*IN_SPECIAL_PROCEDURE_CASE, Command.END_SPECIAL_PROCEDURE),
        Status.IN_PROCESS, handling(Status.IN_PROCESS, extendable=True)),
    Scenario("suspended", SUSPENDED_CASE, Status.SUSPENDED, STOPPED_BY_SUSPENSION),
    Scenario("suspended_from_accepted", (ACCEPT, Command.SUSPEND), Status.SUSPENDED,
        STOPPED_BY_SUSPENSION),
    Scenario("resumed", (*SUSPENDED_CASE, Command.RESUME), Status.IN_PROCESS,
        handling(Status.IN_PROCESS, extendable=True)),
    Scenario("extended", EXTENDED_CASE, Status.IN_PROCESS,
        handling(Status.IN_PROCESS, extendable=False)),
    Scenario("extended_on_acceptance_day", (ACCEPT, Command.EXTEND_DEADLINE), Status.ACCEPTED,
        handling(Status.ACCEPTED, extendable=False)),
    Scenario("extended_then_suspended", (*EXTENDED_CASE, Command.SUSPEND), Status.SUSPENDED,
        STOPPED_BY_SUSPENSION),
    Scenario("extended_then_resumed", (*EXTENDED_CASE, Command.SUSPEND, Command.RESUME),
        Status.IN_PROCESS, handling(Status.IN_PROCESS, extendable=False)),
    # -- concluded (办结) and after -------------------------------------
    Scenario("approved_awaiting_certificate", APPROVED_CASE, CONCLUDED, {
        CERTIFY: CONCLUDED, **RATE}),
    Scenario("immediate_approved_awaiting_certificate", (accept_immediate, CONCLUDE),
        CONCLUDED, {CERTIFY: CONCLUDED, **RATE}),
    Scenario("approved_item_without_certificate", APPROVED_CASE, CONCLUDED, {
        **handed_over(CONCLUDED), **RATE}, issues_certificate=False),
    Scenario("certified", CERTIFIED_CASE, CONCLUDED, {**handed_over(CONCLUDED), **RATE}),
    Scenario("disapproved", DISAPPROVED_CASE, CONCLUDED, {**handed_over(CONCLUDED), **RATE}),
    Scenario("concluded_as_returned", (ACCEPT, conclude_as(ConclusionResult.RETURNED)),
        CONCLUDED, {**handed_over(CONCLUDED), **RATE}),
    Scenario("never_corrected", (Command.REQUEST_CORRECTION, CONCLUDE), CONCLUDED, {
        **handed_over(CONCLUDED), **RATE}),
    Scenario("certificate_mailed", (*CERTIFIED_CASE, Command.DISPATCH_BY_MAIL), CONCLUDED, {
        Command.CONFIRM_DELIVERY: CONCLUDED, **RATE}),
    Scenario("certificate_received_by_mail",
        (*CERTIFIED_CASE, Command.DISPATCH_BY_MAIL, Command.CONFIRM_DELIVERY),
        CONCLUDED, RATE),
    Scenario("certificate_collected", (*CERTIFIED_CASE, Command.COLLECT_AT_WINDOW),
        CONCLUDED, RATE),
    Scenario("disapproval_mailed", (*DISAPPROVED_CASE, Command.DISPATCH_BY_MAIL), CONCLUDED, {
        Command.CONFIRM_DELIVERY: CONCLUDED, **RATE}),
    Scenario("rated_good", (*CERTIFIED_CASE, Command.COLLECT_AT_WINDOW, Command.RATE),
        CONCLUDED, {}),
    Scenario("rated_good_before_delivery", (*CERTIFIED_CASE, Command.RATE), CONCLUDED,
        handed_over(CONCLUDED)),
    Scenario("rated_bad", (*CERTIFIED_CASE, Command.COLLECT_AT_WINDOW, rate_bad), CONCLUDED,
        RECTIFY),
    Scenario("rated_bad_before_certificate", (*APPROVED_CASE, rate_bad), CONCLUDED, {
        CERTIFY: CONCLUDED, **RECTIFY}),
    Scenario("rectified",
        (*CERTIFIED_CASE, Command.COLLECT_AT_WINDOW, rate_bad, Command.RECORD_RECTIFICATION),
        CONCLUDED, {}),
    # -- withdrawn (撤件) -----------------------------------------------
    Scenario("withdrawn_on_submission", (Command.WITHDRAW,), Status.WITHDRAWN, {}),
    Scenario("withdrawn_awaiting_correction", (Command.REQUEST_CORRECTION, Command.WITHDRAW),
        Status.WITHDRAWN, {}),
    Scenario("withdrawn_in_process", (ACCEPT, STEP, Command.WITHDRAW), Status.WITHDRAWN, {}),
    Scenario("withdrawn_while_suspended", (*SUSPENDED_CASE, Command.WITHDRAW),
        Status.WITHDRAWN, {}),
    Scenario("withdrawn_in_special_procedure", (*IN_SPECIAL_PROCEDURE_CASE, Command.WITHDRAW),
        Status.WITHDRAWN, {}),
)  # fmt: skip

CASES = [
    pytest.param(
        scenario,
        command,
        id=f"{scenario.name}-{command.value}",
        marks=(
            [pytest.mark.xfail(reason=scenario.known_defects[command], strict=True)]
            if command in scenario.known_defects
            else []
        ),
    )
    for scenario in SCENARIOS
    for command in TABLE
]


def snapshot(case: Case) -> dict[str, Any]:
    return copy.deepcopy({k: v for k, v in vars(case).items() if k != "_pending_events"})


def context_for(command: Command, clock: Clock) -> Context:
    """The owner runs every command but the answers, which the target gives."""
    return clock.ctx(node=TRANSFER_TARGET) if command in ANSWERS else clock.ctx()


def test_the_table_holds_every_command_but_submission() -> None:
    assert set(TABLE) == set(Command) - {Command.SUBMIT}
    assert set(EVENT_OF) == set(TABLE)


def test_scenario_names_are_unique() -> None:
    names = [scenario.name for scenario in SCENARIOS]
    assert len(names) == len(set(names))


def test_the_scenarios_reach_every_status() -> None:
    assert {scenario.status for scenario in SCENARIOS} == set(Status)


def test_every_command_is_legal_somewhere_and_illegal_somewhere() -> None:
    for command in (*COMMANDS, Command.REQUEST_TRANSFER):
        legal_in = [s.name for s in SCENARIOS if command in s.legal_now]
        assert legal_in, command
        assert len(legal_in) < len(SCENARIOS), command


@pytest.mark.parametrize(("scenario", "command"), CASES)
def test_command_in_scenario(scenario: Scenario, command: Command) -> None:
    clock = Clock()
    case = scenario.build(clock)
    before = snapshot(case)
    action = VALID[command]
    if command in scenario.legal_now:
        action(case, context_for(command, clock))
        appended = trail(case)
        assert [event.stage for event in appended] == [EVENT_OF[command]]
        assert appended[0].prev_hash == before["last_hash"]
        assert case.version == before["_version"] + 1
        assert case.status is scenario.legal_now[command]
    else:
        with pytest.raises(IllegalTransition) as refused:
            action(case, context_for(command, clock))
        assert refused.value.command == command.value
        assert refused.value.status == scenario.status.value
        assert refused.value.reason.strip()
        assert trail(case) == []
        assert snapshot(case) == before


MOVABLE = [s for s in SCENARIOS if s.movable]


@pytest.mark.parametrize(
    ("scenario", "command"),
    [pytest.param(s, c, id=f"{s.name}-{c.value}") for s in MOVABLE for c in ANSWERS],
)
def test_a_pending_transfer_is_answered_by_its_target_in_scenario(
    scenario: Scenario, command: Command
) -> None:
    clock = Clock()
    case = scenario.build(clock)
    VALID[Command.REQUEST_TRANSFER](case, clock.ctx())
    asked = trail(case)
    VALID[command](case, clock.ctx(node=TRANSFER_TARGET))
    answered = trail(case)
    assert [event.stage for event in answered] == [EVENT_OF[command]]
    assert answered[0].prev_hash == asked[-1].hash
    owner = TRANSFER_TARGET if command is Command.ACCEPT_TRANSFER else LIXIA
    assert (case.owner, case.transfer_to, case.status) == (owner, "", scenario.status)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_a_case_takes_no_second_submission_in_scenario(scenario: Scenario) -> None:
    """申报 opens a case. A case's id follows from its node and the id of the
    request that submitted it, so another submission reaches an existing case
    only under that request id: it is refused, whatever the case went through."""
    clock = Clock()
    ledger = CaseLedger(LIXIA, SubjectKeys(MemorySubjectKeyStore()))
    terms = dataclasses.replace(
        food_licence_terms(), issues_certificate=scenario.issues_certificate
    )
    ledger.publish_item(terms)
    code = str(terms.implementation_code)
    opening = clock.ctx()
    materials = [material(), material("营业执照复印件")]
    case_id = ledger.submit(opening, code, scenario.channel, applicant(), materials).case_id
    for step in scenario.steps:
        ledger.execute(case_id, clock.ctx(), VALID[step] if isinstance(step, Command) else step)
    assert ledger.case(case_id).status is scenario.status
    before = ledger.trail(case_id)
    another = dataclasses.replace(opening, at=clock.ctx().at, request_digest="another-submission")
    with pytest.raises(RequestReused):
        ledger.submit(another, code, scenario.channel, applicant(), [material()])
    assert ledger.trail(case_id) == before


FOREIGN_CHECKED = ("window_submitted", "in_process", "suspended", "certified", "rated_bad")


@pytest.mark.parametrize(
    ("scenario", "command"),
    [
        pytest.param(s, c, id=f"{s.name}-{c.value}")
        for s in SCENARIOS
        if s.name in FOREIGN_CHECKED
        for c in (*COMMANDS, Command.REQUEST_TRANSFER)
    ],
)
def test_a_foreign_node_may_not_run_any_command(scenario: Scenario, command: Command) -> None:
    clock = Clock()
    case = scenario.build(clock)
    before = snapshot(case)
    with pytest.raises(NotOwner) as refused:
        VALID[command](case, clock.ctx(node=PROVINCE))
    assert (refused.value.owner, refused.value.node) == (case.owner, PROVINCE)
    assert refused.value.case == case.number
    assert trail(case) == []
    assert snapshot(case) == before


# -- clock marks feed the deadline assessment -----------------------------
#
# 2026-03 on the official calendar: Mon 03-02 .. Fri 03-06 and Mon 03-09 ..
# Fri 03-13 and Mon 03-16 .. Fri 03-20 and Mon 03-23 .. are working days.


def _handled_with_stops(clock: Clock) -> Case:
    """Accepted Mon 03-02; suspended Wed 03-04 .. Mon 03-09; site check Wed 03-11 .. Fri 03-13."""
    case = follow(clock, ())
    case.accept(
        on(clock, date(2026, 3, 2)), "历受〔2026〕103号", CaseType.PROMISED, PROMISED_LIMITS
    )
    case.record_step(on(clock, date(2026, 3, 3)), "审查", "李四", "", "pass")
    case.suspend(on(clock, date(2026, 3, 4)), "申请人申请暂停")
    case.resume(on(clock, date(2026, 3, 9)), "")
    case.start_special_procedure(
        on(clock, date(2026, 3, 11)), SpecialProcedureKind.SITE_CHECK, "实地核查"
    )
    case.end_special_procedure(on(clock, date(2026, 3, 13)), "符合要求")
    return case


def test_suspension_and_special_procedure_leave_clock_marks_on_their_days() -> None:
    case = _handled_with_stops(Clock())
    assert case.marks == [
        ClockMark(ClockMarkKind.STARTED, date(2026, 3, 2)),
        ClockMark(ClockMarkKind.STOPPED, date(2026, 3, 4), "suspended"),
        ClockMark(ClockMarkKind.RESUMED, date(2026, 3, 9)),
        ClockMark(ClockMarkKind.STOPPED, date(2026, 3, 11), SpecialProcedureKind.SITE_CHECK.code),
        ClockMark(ClockMarkKind.RESUMED, date(2026, 3, 13)),
    ]
    assert case.limits == PROMISED_LIMITS


def test_days_under_suspension_and_special_procedure_are_not_counted() -> None:
    case = _handled_with_stops(Clock())
    assert case.limits is not None
    # Counted: 03-03, 03-04 | 03-10, 03-11 | 03-16 .. 03-19 = 8 of 10 promised days.
    state = assess(WorkingCalendar(), case.limits, case.marks, date(2026, 3, 19))
    assert state.working_days_used == 8
    assert state.days_remaining == 2
    assert not state.stopped
    assert state.status is DeadlineStatus.WARNING
    # 6 days left after 03-13: 03-16 .. 03-20, 03-23.
    assert state.promised_due == date(2026, 3, 23)
    # 16 statutory days left after 03-13; Qingming (Sat 04-04 .. Mon 04-06) is rest.
    assert state.statutory_due == date(2026, 4, 7)


def test_a_case_in_special_procedure_is_stopped_and_its_due_date_moves() -> None:
    case = _handled_with_stops(Clock())
    assert case.limits is not None
    state = assess(WorkingCalendar(), case.limits, case.marks, date(2026, 3, 12))
    assert state.working_days_used == 4
    assert state.stopped
    # Projected as if counting resumed after 03-12: 03-13, 03-16 .. 03-20.
    assert state.promised_due == date(2026, 3, 20)


def test_conclusion_closes_the_clock() -> None:
    clock = Clock()
    case = _handled_with_stops(clock)
    case.conclude(on(clock, date(2026, 3, 17)), ConclusionResult.APPROVED, "历审批〔2026〕20号", "")
    assert case.marks[-1] == ClockMark(ClockMarkKind.CONCLUDED, date(2026, 3, 17))
    assert case.limits is not None
    state = assess(WorkingCalendar(), case.limits, case.marks, date(2026, 4, 30))
    assert state.working_days_used == 6
    assert state.status is DeadlineStatus.CONCLUDED_ON_TIME


def test_withdrawal_stops_the_clock_of_an_accepted_case() -> None:
    clock = Clock()
    case = follow(clock, ())
    case.accept(
        on(clock, date(2026, 3, 2)), "历受〔2026〕105号", CaseType.PROMISED, PROMISED_LIMITS
    )
    case.withdraw(on(clock, date(2026, 3, 3)), "申请人主动撤回")
    assert case.limits is not None
    state = assess(WorkingCalendar(), case.limits, case.marks, date(2026, 5, 29))
    assert state.working_days_used == 1
    assert state.status not in (DeadlineStatus.YELLOW, DeadlineStatus.RED)


def test_an_extension_adds_ten_working_days_to_both_limits() -> None:
    clock = Clock()
    case = follow(clock, ())
    case.accept(
        on(clock, date(2026, 3, 2)), "历受〔2026〕104号", CaseType.PROMISED, PROMISED_LIMITS
    )
    case.extend_deadline(on(clock, date(2026, 3, 10)), "王局长", "需专家论证")
    assert case.marks[-1] == ClockMark(ClockMarkKind.EXTENDED, date(2026, 3, 10), days=10)
    assert case.limits is not None
    state = assess(WorkingCalendar(), case.limits, case.marks, date(2026, 3, 10))
    assert state.extended_by == 10
    assert state.days_remaining == 20 - 6
