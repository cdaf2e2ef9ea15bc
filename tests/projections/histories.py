"""Random networks and case histories for the projection tests.

A history is every case event of a network, in time order, made by the
`Case` aggregate itself, so every trail is one the ledger could hold. Cases
follow the paths a day at a service hall has: window and online intake,
correction, special procedures, suspension and extension, refusal,
withdrawal, immediate cases, certificates and delivery, good and bad
ratings with rectification, and a township case reported up to its parent
(转报), decided there and sent back down (下发) for delivery.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import Application
from eventsourcing.persistence import Mapper

from caseledger.ledger.case.aggregate import Case, Context
from caseledger.ledger.case.events import CaseEvent, china_date
from caseledger.ledger.codes.division import DivisionCode
from caseledger.ledger.codes.numbering import format_number
from caseledger.ledger.codes.vocabulary import (
    CaseType,
    ConclusionResult,
    RatingChannel,
    Satisfaction,
    SpecialProcedureKind,
    SubmissionChannel,
)
from caseledger.ledger.mapper import stable_names_mapper
from caseledger.ledger.timelimits.deadlines import TimeLimits
from tests.ledger.case.case_paths import ADDRESS, APPLICANT, LICENCE_FILE, SIGNER, item_ref
from tests.samples import Clock, material

PROVINCE = "370000000000"
RECEIVER = "<receiver>"
HANDLER = "<handler>"
"""Placeholders in a path's transfer steps for the two nodes a case moves between."""

Act = Callable[[Any, Context], None]
PROMISED = TimeLimits(statutory_days=20, promised_days=10)
IMMEDIATE = TimeLimits(statutory_days=0, promised_days=0)


def _accept(case: Case, ctx: Context) -> None:
    case.accept(ctx, "受〔2026〕1号", CaseType.PROMISED, PROMISED)


def _step(case: Case, ctx: Context) -> None:
    case.record_step(ctx, "审查", "李四", "符合条件", "pass")


def _conclude(case: Case, ctx: Context) -> None:
    case.conclude(ctx, ConclusionResult.APPROVED, "审批〔2026〕18号", "")


def _certificate(case: Case, ctx: Context) -> None:
    case.issue_certificate(ctx, "JY1", LICENCE_FILE, china_date(ctx.at), None)


def _rate(good: bool) -> Act:
    def rate(case: Case, ctx: Context) -> None:
        if good:
            case.rate(ctx, Satisfaction.VERY_SATISFIED, RatingChannel.MOBILE, "", [])
        else:
            case.rate(ctx, Satisfaction.DISSATISFIED, RatingChannel.PC, "太慢", ["办理慢"])

    return rate


# Each step: (who acts: "receiver" or "handler", what, working days that pass first).
Step = tuple[str, Act, int]
R, H = "receiver", "handler"

PATHS: dict[str, list[Step]] = {
    "approved_window": [
        (R, _accept, 0),
        (R, _step, 2),
        (R, _conclude, 3),
        (R, _certificate, 0),
        (R, lambda c, x: c.collect_at_window(x, SIGNER), 1),
        (R, _rate(True), 0),
    ],
    "online_corrected_bad_rating": [
        (R, lambda c, x: c.pass_pre_review(x, "预审通过"), 0),
        (R, lambda c, x: c.request_correction(x, [("营业执照复印件", "未盖章")]), 1),
        (R, lambda c, x: c.supplement_materials(x, [material("营业执照（盖章）")]), 3),
        (R, _accept, 0),
        (
            R,
            lambda c, x: c.start_special_procedure(x, SpecialProcedureKind.SITE_CHECK, "核查"),
            2,
        ),
        (R, lambda c, x: c.end_special_procedure(x, "符合"), 4),
        (R, _conclude, 5),
        (R, _certificate, 0),
        (R, lambda c, x: c.dispatch_by_mail(x, "EMS", "1100123", ADDRESS), 1),
        (R, lambda c, x: c.confirm_delivery(x, SIGNER, china_date(x.at)), 2),
        (R, _rate(False), 0),
        (R, lambda c, x: c.record_rectification(x, "已回访致歉", "增设提示"), 3),
    ],
    "suspended_extended_open": [
        (R, _accept, 0),
        (R, lambda c, x: c.suspend(x, "申请人申请暂停"), 2),
        (R, lambda c, x: c.resume(x, ""), 3),
        (R, lambda c, x: c.extend_deadline(x, "王局长", "需技术审查"), 2),
        (R, _step, 1),
    ],
    "refused": [
        (
            R,
            lambda c, x: c.refuse_acceptance(x, "不受〔2026〕7号", "不属于本机关", "第三十二条"),
            1,
        ),
    ],
    "withdrawn": [(R, _accept, 0), (R, lambda c, x: c.withdraw(x, "主动撤回"), 2)],
    "immediate": [
        (R, lambda c, x: c.accept(x, "受〔2026〕2号", CaseType.IMMEDIATE, IMMEDIATE), 0),
        (R, _conclude, 0),
        (R, _rate(True), 0),
    ],
    "accepted_open": [(R, _accept, 0), (R, _step, 3)],
    "late_conclusion": [(R, _accept, 0), (R, _step, 8), (R, _conclude, 6)],
    "reported_up_and_back": [
        (R, lambda c, x: c.request_transfer(x, HANDLER, "转报上级审批"), 0),
        (H, lambda c, x: c.accept_transfer(x), 0),
        (H, _accept, 0),
        (H, _step, 2),
        (H, _conclude, 2),
        (H, _certificate, 0),
        (H, lambda c, x: c.request_transfer(x, RECEIVER, "下发送达"), 0),
        (R, lambda c, x: c.accept_transfer(x), 0),
        (R, lambda c, x: c.collect_at_window(x, SIGNER), 1),
    ],
}


def random_network(rng: random.Random) -> list[str]:
    """A province with 1-3 cities, each with 1-3 counties, each with 0-2 townships."""
    nodes = [PROVINCE]
    for c in range(1, rng.randint(1, 3) + 1):
        city = f"37{c:02d}00000000"
        nodes.append(city)
        for k in range(1, rng.randint(1, 3) + 1):
            county = f"{city[:4]}{k:02d}000000"
            nodes.append(county)
            nodes.extend(f"{county[:6]}{t:03d}000" for t in range(1, rng.randint(0, 2) + 1))
    return nodes


class _Placing:
    """Puts the real node codes into a path's transfer steps."""

    def __init__(self, case: Case, receiver: str, handler: str) -> None:
        self._case = case
        self._nodes = {RECEIVER: receiver, HANDLER: handler}

    def __getattr__(self, name: str) -> object:
        method = getattr(self._case, name)
        if name != "request_transfer":
            return method

        def request_transfer(ctx: Context, target: str, reason: str) -> None:
            method(ctx, self._nodes[target], reason)

        return request_transfer


def simulate_case(
    rng: random.Random,
    nodes: Sequence[str],
    start: datetime,
    serial: int,
    path: str | None = None,
) -> list[CaseEvent]:
    """One case received at a random node along a random path (or `path`), from `start`."""
    receiver = rng.choice(list(nodes))
    parent = DivisionCode.parse(receiver).parent
    path = path or rng.choice(sorted(PATHS))
    if path == "reported_up_and_back" and parent is None:
        path = "approved_window"
    handler = str(parent) if parent is not None else receiver
    clock = Clock(start)
    clock.serial = serial * 100
    channel = SubmissionChannel.ONLINE if path.startswith("online") else SubmissionChannel.WINDOW
    ctx = clock.ctx(node=receiver)
    case = Case.submit(
        uuid4(),
        ctx,
        number=format_number(receiver, china_date(ctx.at), serial),
        item=item_ref(),
        channel=channel,
        applicant=APPLICANT,
        materials=[material()],
    )
    placed: Any = _Placing(case, receiver, handler)
    for who, act, days in PATHS[path]:
        # Roughly seven calendar days for five working days, so weekends pass too.
        clock.now += timedelta(days=days * 7 // 5)
        act(placed, clock.ctx(node=receiver if who == R else handler))
    events = case.collect_events()
    return [e for e in events if isinstance(e, CaseEvent)]


def simulate(
    rng: random.Random, nodes: Sequence[str], cases: int, start: datetime
) -> list[CaseEvent]:
    """`cases` cases starting on random days of the 30 from `start`, all events in time order."""
    events: list[CaseEvent] = []
    for serial in range(1, cases + 1):
        begins = start + timedelta(days=rng.randint(0, 30), hours=rng.randint(0, 8))
        events.extend(simulate_case(rng, nodes, begins, serial))
    return sorted(events, key=lambda e: (e.timestamp, str(e.originator_id), e.originator_version))


def case_mapper() -> Mapper[UUID]:
    """The ledger's mapper (stable names, the ledger's transcoder)."""
    return stable_names_mapper(Application(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}))


START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
"""A Monday morning in Beijing."""
