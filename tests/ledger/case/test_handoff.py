"""Handing a case between nodes: one owner at a time, whatever happens.

The owner asks (转报 up, 下发 down, 跨域 sideways) and stops writing; only the
target ends the handoff, by accepting (it becomes the owner) or rejecting
(ownership returns). So a case never has two owners or none.
"""

from __future__ import annotations

import copy
from datetime import date

import pytest

from caseledger.ledger.case.aggregate import Case
from caseledger.ledger.case.stages import Command, Status
from caseledger.ledger.errors import IllegalTransition, InvalidInput, NotOwner
from tests.ledger.case.case_paths import VALID, chain_faults, follow, on, trail
from tests.samples import LIXIA, Clock

JIEFANGLU = "370102001000"  # 解放路街道, below Lixia
PINGYIN = "370124000000"  # 平阴县, beside Lixia
JINAN = "370100000000"  # 济南市, above Lixia


def accepted_case(clock: Clock) -> Case:
    return follow(clock, (Command.ACCEPT,))


@pytest.mark.parametrize(
    ("target", "kind"), [(JINAN, "up"), (JIEFANGLU, "down"), (PINGYIN, "sideways")]
)
def test_the_kind_of_transfer_follows_from_the_division_codes(target: str, kind: str) -> None:
    clock = Clock()
    case = accepted_case(clock)
    case.request_transfer(clock.ctx(), target, "需上级审批")
    assert trail(case)[-1].payload["kind"] == kind
    assert case.transfer_to == target


def test_while_a_transfer_is_pending_the_owner_may_not_write() -> None:
    clock = Clock()
    case = accepted_case(clock)
    case.request_transfer(clock.ctx(), JINAN, "转报市级")
    with pytest.raises(IllegalTransition, match="being handed over"):
        VALID[Command.RECORD_STEP](case, clock.ctx())
    with pytest.raises(IllegalTransition, match="being handed over"):
        case.request_transfer(clock.ctx(), PINGYIN, "again")


def test_only_the_target_may_answer_a_transfer() -> None:
    clock = Clock()
    case = accepted_case(clock)
    case.request_transfer(clock.ctx(), JINAN, "转报市级")
    with pytest.raises(NotOwner):
        case.accept_transfer(clock.ctx(node=PINGYIN))
    with pytest.raises(NotOwner):
        case.accept_transfer(clock.ctx(node=LIXIA))


def test_an_accepted_transfer_moves_ownership_to_the_target() -> None:
    clock = Clock()
    case = accepted_case(clock)
    case.request_transfer(clock.ctx(), JINAN, "转报市级")
    case.accept_transfer(clock.ctx(node=JINAN))
    assert (case.owner, case.transfer_to, case.owners) == (JINAN, "", [LIXIA, JINAN])
    VALID[Command.RECORD_STEP](case, clock.ctx(node=JINAN))
    with pytest.raises(NotOwner):
        VALID[Command.RECORD_STEP](case, clock.ctx(node=LIXIA))
    assert case.status is Status.IN_PROCESS


def test_a_rejected_transfer_returns_ownership() -> None:
    clock = Clock()
    case = accepted_case(clock)
    case.request_transfer(clock.ctx(), PINGYIN, "跨域办理")
    case.reject_transfer(clock.ctx(node=PINGYIN), "本县无此事项")
    assert (case.owner, case.transfer_to) == (LIXIA, "")
    VALID[Command.RECORD_STEP](case, clock.ctx())


def test_answering_without_a_pending_transfer_is_refused() -> None:
    clock = Clock()
    case = accepted_case(clock)
    before = copy.deepcopy(vars(case))
    with pytest.raises(IllegalTransition, match="no transfer is pending"):
        case.accept_transfer(clock.ctx(node=JINAN))
    with pytest.raises(IllegalTransition, match="no transfer is pending"):
        case.reject_transfer(clock.ctx(node=JINAN), "no")
    assert vars(case) == before


@pytest.mark.parametrize(
    ("target", "field"), [(LIXIA, "target"), ("99", "target"), ("3701020010001", "target")]
)
def test_a_bad_target_is_invalid_input(target: str, field: str) -> None:
    clock = Clock()
    case = accepted_case(clock)
    with pytest.raises(InvalidInput) as caught:
        case.request_transfer(clock.ctx(), target, "x")
    assert caught.value.violations[0].field == field


@pytest.mark.parametrize(
    ("steps", "legal"),
    [
        ((), True),
        ((Command.ACCEPT, Command.CONCLUDE), True),  # a decision moves for delivery
        ((Command.ACCEPT, Command.SUSPEND), True),
        ((Command.WITHDRAW,), False),
        ((Command.REFUSE_ACCEPTANCE,), False),
    ],
)
def test_a_case_that_is_over_stays_where_it_is(steps: tuple[Command, ...], legal: bool) -> None:
    clock = Clock()
    case = follow(clock, steps)
    status = case.status
    trail(case)
    if legal:
        case.request_transfer(clock.ctx(), JINAN, "x")
        assert [event.stage for event in trail(case)] == ["TransferRequested"]
        assert (case.owner, case.transfer_to, case.status) == (LIXIA, JINAN, status)
    else:
        with pytest.raises(IllegalTransition):
            case.request_transfer(clock.ctx(), JINAN, "x")
        assert trail(case) == []
        assert case.transfer_to == ""


def test_the_chain_runs_unbroken_across_owners_and_replays() -> None:
    clock = Clock()
    case = accepted_case(clock)
    case.request_transfer(on(clock, date(2026, 3, 3)), JINAN, "转报市级")
    case.accept_transfer(clock.ctx(node=JINAN))
    VALID[Command.CONCLUDE](case, clock.ctx(node=JINAN))
    case.request_transfer(clock.ctx(node=JINAN), LIXIA, "下发送达")
    case.accept_transfer(clock.ctx(node=LIXIA))
    events = trail(case)
    assert chain_faults(events) == []
    replayed = None
    for event in events:
        replayed = event.mutate(replayed)
    assert isinstance(replayed, Case)
    assert (replayed.owner, replayed.owners) == (LIXIA, [LIXIA, JINAN])
    assert [e.node for e in events][-3:] == [JINAN, JINAN, LIXIA]
