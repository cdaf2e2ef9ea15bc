"""A case's trail: its hash chain, and replaying it from scratch.

The property tests drive a case with random plans (a lawful path through a
case's life with random commands and arguments thrown in); refused commands
are skipped, and what was accepted must replay to the same state and verify
as a chain, with hashes recomputed from docs/canonical.md apart from the
ledger's code. `--hypothesis-show-statistics` reports the event types reached.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from itertools import pairwise
from typing import Any

import hypothesis
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caseledger.ledger.case.aggregate import Case, Material
from caseledger.ledger.case.events import CaseEvent, china_date
from caseledger.ledger.case.stages import Command
from caseledger.ledger.codes.vocabulary import (
    CaseType,
    ConclusionResult,
    RatingChannel,
    Satisfaction,
    SpecialProcedureKind,
    SubmissionChannel,
)
from caseledger.ledger.errors import IllegalTransition, InvalidInput, NotOwner
from caseledger.ledger.timelimits.calendar import WorkingCalendar
from caseledger.ledger.timelimits.deadlines import TimeLimits, assess
from caseledger.ledger.trail.canonical import GENESIS, NotCanonical, canonical_json, digest
from tests.ledger.case.case_paths import (
    ADDRESS,
    LICENCE_FILE,
    SIGNER,
    chain_faults,
    documented_hash,
    follow,
    rate_bad,
    submit,
    trail,
)
from tests.samples import JIEFANGLU, LIXIA, PROVINCE, Clock, material

LIFECYCLE = (
    Command.REQUEST_CORRECTION,
    Command.SUPPLEMENT_MATERIALS,
    Command.ACCEPT,
    Command.RECORD_STEP,
    Command.SUSPEND,
    Command.RESUME,
    Command.START_SPECIAL_PROCEDURE,
    Command.END_SPECIAL_PROCEDURE,
    Command.EXTEND_DEADLINE,
    Command.CONCLUDE,
    Command.ISSUE_CERTIFICATE,
    Command.DISPATCH_BY_MAIL,
    Command.CONFIRM_DELIVERY,
    rate_bad,
    Command.RECORD_RECTIFICATION,
)


def state(case: Case) -> dict[str, Any]:
    return {k: v for k, v in vars(case).items() if k != "_pending_events"}


def replayed(events: list[CaseEvent]) -> Case:
    case: Case | None = None
    for event in events:
        case = event.mutate(case)
    assert case is not None
    return case


@pytest.fixture
def lifecycle() -> list[CaseEvent]:
    return trail(follow(Clock(), LIFECYCLE))


# -- the hash chain ----------------------------------------------------------


def test_each_hash_is_the_one_docs_canonical_md_defines(lifecycle: list[CaseEvent]) -> None:
    assert len(lifecycle) == len(LIFECYCLE) + 1
    for event in lifecycle:
        assert event.hash == documented_hash(event)


def test_each_event_points_to_the_one_before_and_the_first_to_genesis(
    lifecycle: list[CaseEvent],
) -> None:
    assert lifecycle[0].prev_hash == GENESIS
    for before, after in pairwise(lifecycle):
        assert after.prev_hash == before.hash
    assert chain_faults(lifecycle) == []


def test_the_case_remembers_the_hash_of_its_last_event() -> None:
    case = follow(Clock(), LIFECYCLE)
    events = trail(case)
    assert case.last_hash == events[-1].hash
    assert case.version == len(events)


def test_the_hashed_form_names_stage_version_and_case(lifecycle: list[CaseEvent]) -> None:
    for version, event in enumerate(lifecycle, start=1):
        hashed = event.hashed_form()
        assert (hashed["type"], hashed["version"]) == (event.stage, version)
        assert hashed["case"] == str(event.originator_id)
        assert hashed["occurred_at"].endswith("+00:00")


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    else:
        yield path, value


def _other(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    return "x"


def _changed(payload: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    changed = copy.deepcopy(payload)
    holder: Any = changed
    for step in path[:-1]:
        holder = holder[step]
    holder[path[-1]] = _other(holder[path[-1]])
    return changed


def test_changing_any_payload_value_changes_the_hash(lifecycle: list[CaseEvent]) -> None:
    checked = 0
    for event in lifecycle:
        for path, _ in _leaves(event.payload):
            hashed = event.hashed_form()
            hashed["payload"] = _changed(event.payload, path)
            assert digest(hashed) != event.hash, (event.stage, path)
            checked += 1
    assert checked > 40


def test_changing_any_other_hashed_field_changes_the_hash(lifecycle: list[CaseEvent]) -> None:
    for event in lifecycle:
        original = event.hashed_form()
        for path, _ in _leaves({k: v for k, v in original.items() if k != "payload"}):
            assert digest(_changed(original, path)) != event.hash, (event.stage, path)


@pytest.mark.parametrize(
    "change",
    [
        {"node": PROVINCE},
        {"operator_id": "op-other"},
        {"request_digest": "digest-other"},
        {"prev_hash": GENESIS},
    ],
    ids=lambda change: next(iter(change)),
)
def test_a_tampered_event_breaks_the_chain(
    lifecycle: list[CaseEvent], change: dict[str, Any]
) -> None:
    tampered = list(lifecycle)
    tampered[5] = replace(lifecycle[5], **change)
    assert chain_faults(tampered)
    assert chain_faults(lifecycle) == []


def test_a_tampered_payload_breaks_the_chain(lifecycle: list[CaseEvent]) -> None:
    accepted = next(e for e in lifecycle if e.stage == "Accepted")
    index = lifecycle.index(accepted)
    tampered = list(lifecycle)
    tampered[index] = replace(accepted, payload={**accepted.payload, "promised_days": 20})
    assert chain_faults(tampered) == [f"event {index} (Accepted): hash does not match its content"]


def test_a_dropped_event_breaks_the_chain(lifecycle: list[CaseEvent]) -> None:
    assert chain_faults(lifecycle[:3] + lifecycle[4:])


def test_replaying_a_whole_lifecycle_reproduces_the_case() -> None:
    case = follow(Clock(), LIFECYCLE, SubmissionChannel.WINDOW)
    assert state(replayed(trail(case))) == state(case)


# -- random command sequences ------------------------------------------------

OWNER, TARGET = "owner", "target"
"""Who runs a move, resolved when it runs: the case's owner of the moment, or
the target of its pending transfer (the owner when none is pending)."""


@dataclass(frozen=True)
class Move:
    """One command with its arguments, `days` after the previous move, by `actor`
    (`OWNER`, `TARGET` or a division code)."""

    command: Command
    args: tuple[Any, ...]
    days: int
    actor: str

    def run(self, case: Case, clock: Clock) -> None:
        node = {OWNER: case.owner, TARGET: case.transfer_to or case.owner}.get(
            self.actor, self.actor
        )
        ctx = clock.ctx(node=node, days=self.days)
        args = tuple(china_date(ctx.at) if arg is ON_THE_DAY else arg for arg in self.args)
        getattr(case, self.command.value)(ctx, *args)


ON_THE_DAY = object()
"""An argument that stands for the day the move runs on (a receipt signed that day)."""


# Mostly well-formed, so that random plans get past the field checks and deep
# into the stage model; the malformed few must be refused without a trace.
texts = st.sampled_from(["审查", "符合条件", "李四", "需要补充说明"] * 4 + ["", "  "])
sha256s = st.sampled_from([LICENCE_FILE] * 6 + [LICENCE_FILE.upper(), LICENCE_FILE[:-1], ""])
days = st.dates(min_value=date(2026, 1, 1), max_value=date(2031, 12, 31))
limits = st.tuples(st.integers(0, 30), st.integers(0, 30)).map(
    lambda pair: TimeLimits(max(pair), min(pair))
)
materials = st.lists(st.builds(Material, texts, sha256s), max_size=2) | st.just([material()])
JINAN, PINGYIN = "370100000000", "370124000000"  # 济南市 above Lixia, 平阴县 beside it
# Up, down (解放路街道), sideways and back home: where a case may be sent from
# whichever of them owns it.
targets = st.sampled_from([JINAN, JIEFANGLU, PINGYIN, LIXIA])
results = st.sampled_from([ConclusionResult.APPROVED] * 8 + list(ConclusionResult))

ARGUMENTS: dict[Command, st.SearchStrategy[tuple[Any, ...]]] = {
    Command.PASS_PRE_REVIEW: st.tuples(texts),
    Command.RETURN_PRE_REVIEW: st.tuples(texts),
    Command.REQUEST_CORRECTION: st.tuples(st.lists(st.tuples(texts, texts), max_size=3)),
    Command.SUPPLEMENT_MATERIALS: st.tuples(materials),
    Command.ACCEPT: st.tuples(texts, st.sampled_from(CaseType), limits),
    Command.REFUSE_ACCEPTANCE: st.tuples(texts, texts, texts),
    Command.RECORD_STEP: st.tuples(texts, texts, texts, st.sampled_from(["pass", "return", "ok"])),
    Command.START_SPECIAL_PROCEDURE: st.tuples(st.sampled_from(SpecialProcedureKind), texts),
    Command.END_SPECIAL_PROCEDURE: st.tuples(texts),
    Command.SUSPEND: st.tuples(texts),
    Command.RESUME: st.tuples(texts),
    Command.EXTEND_DEADLINE: st.tuples(texts, texts),
    Command.CONCLUDE: st.tuples(results, texts, texts),
    Command.ISSUE_CERTIFICATE: st.tuples(texts, sha256s, days, st.none() | days),
    Command.DISPATCH_BY_MAIL: st.tuples(texts, texts, st.just(ADDRESS)),
    Command.COLLECT_AT_WINDOW: st.tuples(st.just(SIGNER)),
    Command.CONFIRM_DELIVERY: st.tuples(st.just(SIGNER), days),
    Command.WITHDRAW: st.tuples(texts),
    Command.RATE: st.tuples(
        st.sampled_from(Satisfaction),
        st.sampled_from(RatingChannel),
        texts,
        st.lists(st.sampled_from(["办理慢", "态度差"]), max_size=2),
    ),
    Command.RECORD_RECTIFICATION: st.tuples(texts, texts),
    Command.REQUEST_TRANSFER: st.tuples(targets, texts),
    Command.ACCEPT_TRANSFER: st.tuples(),
    Command.REJECT_TRANSFER: st.tuples(texts),
}

ANSWERS = frozenset({Command.ACCEPT_TRANSFER, Command.REJECT_TRANSFER})

# Arguments that pass every field check, for the steps of a spine; random
# where the choice leads somewhere (the result, the rating, the target).
LAWFUL: dict[Command, st.SearchStrategy[tuple[Any, ...]]] = {
    Command.PASS_PRE_REVIEW: st.just(("材料齐全，预审通过",)),
    Command.RETURN_PRE_REVIEW: st.just(("非本级受理事项",)),
    Command.REQUEST_CORRECTION: st.just(([("营业执照复印件", "未加盖公章")],)),
    Command.SUPPLEMENT_MATERIALS: st.just(([material("营业执照复印件（盖章）")],)),
    Command.ACCEPT: st.tuples(st.just("历受〔2026〕101号"), st.just(CaseType.PROMISED), limits),
    Command.REFUSE_ACCEPTANCE: st.just(("历不受〔2026〕7号", "不属于本机关职权范围", "第三十二条")),
    Command.RECORD_STEP: st.tuples(
        st.just("审查"), st.just("李四"), st.just("符合条件"), st.sampled_from(["pass", "return"])
    ),
    Command.START_SPECIAL_PROCEDURE: st.tuples(
        st.sampled_from(SpecialProcedureKind), st.just("核查")
    ),
    Command.END_SPECIAL_PROCEDURE: st.just(("核查符合要求",)),
    Command.SUSPEND: st.just(("申请人申请暂停办理",)),
    Command.RESUME: st.just(("",)),
    Command.EXTEND_DEADLINE: st.just(("王局长", "需补充技术审查")),
    Command.CONCLUDE: st.tuples(results, st.just("历审批〔2026〕18号"), st.just("")),
    Command.ISSUE_CERTIFICATE: st.just(
        ("JY23701020000001", LICENCE_FILE, date(2026, 3, 20), date(2031, 3, 19))
    ),
    Command.DISPATCH_BY_MAIL: st.just(("中国邮政EMS", "1100123456789", ADDRESS)),
    Command.COLLECT_AT_WINDOW: st.just((SIGNER,)),
    Command.CONFIRM_DELIVERY: st.just((SIGNER, ON_THE_DAY)),
    Command.WITHDRAW: st.just(("申请人主动撤回",)),
    Command.RATE: st.tuples(
        st.sampled_from([Satisfaction.DISSATISFIED] * 3 + list(Satisfaction)),
        st.sampled_from(RatingChannel),
        st.just("窗口办理时间过长"),
        st.just(["办理慢"]),
    ),
    Command.RECORD_RECTIFICATION: st.just(("已电话回访申请人并致歉", "窗口增设材料预审提示")),
    Command.REQUEST_TRANSFER: st.tuples(st.sampled_from([JINAN, JIEFANGLU, PINGYIN]), texts),
    Command.ACCEPT_TRANSFER: st.just(()),
    Command.REJECT_TRANSFER: st.just(("本级未实施该事项",)),
}

# A plan follows a spine, a lawful path through a case's life, with random
# moves thrown in between its steps. Most spines are a whole life (intake,
# handling with a transfer or two, conclusion, certificate, delivery, rating,
# rectification); the others end early, as a case returned at pre-review,
# refused or withdrawn does. So cases go deep, and the random moves try
# every command in every stage.
# Pre-review is only for the channels that need it; elsewhere it is refused.
CORRECTION = [Command.REQUEST_CORRECTION, Command.SUPPLEMENT_MATERIALS]
INTAKES: tuple[list[Command], ...] = (
    [Command.PASS_PRE_REVIEW],
    [*CORRECTION, Command.PASS_PRE_REVIEW],
    [Command.PASS_PRE_REVIEW, *CORRECTION],
)
HANDLING: tuple[list[Command], ...] = (
    [Command.RECORD_STEP],
    [Command.SUSPEND, Command.RESUME],
    [Command.START_SPECIAL_PROCEDURE, Command.END_SPECIAL_PROCEDURE],
    [Command.EXTEND_DEADLINE],
    [Command.REQUEST_TRANSFER, Command.ACCEPT_TRANSFER],
    [Command.REQUEST_TRANSFER, Command.REJECT_TRANSFER],
)
DELIVERIES: tuple[list[Command], ...] = (
    [Command.DISPATCH_BY_MAIL, Command.CONFIRM_DELIVERY],
    [Command.COLLECT_AT_WINDOW],
)
AFTERMATH = [Command.RATE, Command.RECORD_RECTIFICATION]
# Random moves that end a case early or hold it (for a correction, a
# suspension, a special procedure, a handoff) are drawn less often, so that
# they do not cut most plans short.
SELDOM = (
    Command.WITHDRAW, Command.REFUSE_ACCEPTANCE, Command.RETURN_PRE_REVIEW,
    Command.REQUEST_CORRECTION, Command.SUSPEND, Command.START_SPECIAL_PROCEDURE,
    Command.REQUEST_TRANSFER,
)  # fmt: skip
WEIGHTED_COMMANDS = [c for c in ARGUMENTS for _ in range(1 if c in SELDOM else 4)]


LIVES = ("whole", "returned", "refused", "withdrawn")


@st.composite
def spines(draw: st.DrawFn, life: str | None = None) -> list[Command]:
    """A spine of `life` (by default, a whole life five times in eight)."""
    if life is None:
        life = draw(st.sampled_from(["whole"] * 5 + list(LIVES[1:])))
    if life == "returned":
        return [Command.RETURN_PRE_REVIEW, *AFTERMATH]
    steps = list(draw(st.sampled_from(INTAKES)))
    if life == "refused":
        return [*steps, Command.REFUSE_ACCEPTANCE, *draw(st.sampled_from(DELIVERIES)), *AFTERMATH]
    steps.append(Command.ACCEPT)
    for _ in range(draw(st.integers(0, 4))):
        steps += draw(st.sampled_from(HANDLING))
    if life == "withdrawn":
        return [*steps, Command.WITHDRAW]
    steps += [Command.CONCLUDE, Command.ISSUE_CERTIFICATE]
    if draw(st.booleans()):  # sent elsewhere for delivery (下发)
        steps += [Command.REQUEST_TRANSFER, Command.ACCEPT_TRANSFER]
    return [*steps, *draw(st.sampled_from(DELIVERIES)), *AFTERMATH]


def _actor(draw: st.DrawFn, command: Command) -> str:
    """Mostly whoever may run `command` now; now and then a node that may not."""
    rightful = TARGET if command in ANSWERS else OWNER
    return draw(st.sampled_from([rightful] * 19 + [PROVINCE]))


@st.composite
def random_moves(draw: st.DrawFn) -> Move:
    command = draw(st.sampled_from(WEIGHTED_COMMANDS))
    args = draw(ARGUMENTS[command])
    return Move(command, args, draw(st.integers(0, 3)), _actor(draw, command))


@st.composite
def spine_moves(draw: st.DrawFn, command: Command) -> Move:
    """A step of a spine; one in ten with random arguments, which may be refused."""
    arguments = draw(st.sampled_from([LAWFUL] * 9 + [ARGUMENTS]))
    args = draw(arguments[command])
    return Move(command, args, draw(st.integers(0, 3)), _actor(draw, command))


@st.composite
def plans(draw: st.DrawFn, life: str | None = None) -> list[Move]:
    plan: list[Move] = []
    for step in draw(spines(life)):
        if draw(st.sampled_from([False, False, True])):
            plan.append(draw(random_moves()))
        plan.append(draw(spine_moves(step)))
    return plan


def test_every_command_on_a_case_has_generated_arguments() -> None:
    assert set(ARGUMENTS) == set(Command) - {Command.SUBMIT}


def _driven(
    channel: SubmissionChannel, issues_certificate: bool, plan: list[Move]
) -> tuple[Case, int]:
    """The case after trying every move of `plan`; also how many were accepted."""
    clock = Clock()
    case = submit(clock, channel, issues_certificate=issues_certificate)
    accepted = 0
    for move in plan:
        before = copy.deepcopy(state(case))
        try:
            move.run(case, clock)
        except (IllegalTransition, InvalidInput, NotOwner):
            assert state(case) == before, f"refused {move.command.value} changed the case"
            continue
        accepted += 1
    return case, accepted


submissions = st.sampled_from(SubmissionChannel)


@settings(max_examples=80, deadline=None)
@given(channel=submissions, issues_certificate=st.booleans(), plan=plans())
def test_replaying_the_trail_reproduces_the_case(
    channel: SubmissionChannel, issues_certificate: bool, plan: list[Move]
) -> None:
    case, accepted = _driven(channel, issues_certificate, plan)
    events = trail(case)
    for stage in sorted({event.stage for event in events}):
        hypothesis.event(f"reached {stage}")  # shown by --hypothesis-show-statistics
    assert len(events) == accepted + 1 == case.version
    assert state(replayed(events)) == state(case)
    assert chain_faults(events) == []


def _event_types(kind: type[CaseEvent] = CaseEvent) -> list[str]:
    found = []
    for sub in kind.__subclasses__():
        found += [sub.__name__, *_event_types(sub)]
    return sorted(set(found))


def test_random_plans_reach_every_event_type() -> None:
    reached: set[str] = set()
    for life in LIVES:
        # A fixed seed: a survey of what plans of each life reach, not a property.
        @settings(max_examples=40, deadline=None, derandomize=True, database=None)
        @given(channel=submissions, issues_certificate=st.booleans(), plan=plans(life))
        def drive(channel: SubmissionChannel, issues_certificate: bool, plan: list[Move]) -> None:
            case, _ = _driven(channel, issues_certificate, plan)
            reached.update(event.stage for event in trail(case))

        drive()
    assert sorted(set(_event_types()) - reached) == []


@settings(max_examples=40, deadline=None)
@given(channel=submissions, plan=plans())
def test_the_clock_marks_of_any_case_form_a_valid_timeline(
    channel: SubmissionChannel, plan: list[Move]
) -> None:
    case, _ = _driven(channel, True, plan)
    if case.limits is None:
        assert case.marks == []
    else:
        last_day = case.marks[-1].on
        assess(WorkingCalendar(), case.limits, case.marks, last_day)


# -- canonical encoding ------------------------------------------------------

characters = st.characters(exclude_categories=["Cs"])
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53 - 1), 2**53 - 1)
    | st.text(characters, max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(characters, max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


def _utf16(name: str) -> bytes:
    return name.encode("utf-16-be")


def _ordered(value: Any) -> Any:
    """The same value with every object's members in UTF-16 order."""
    if isinstance(value, dict):
        return {k: _ordered(value[k]) for k in sorted(value, key=_utf16)}
    if isinstance(value, list):
        return [_ordered(item) for item in value]
    return value


def _reversed(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _reversed(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reversed(item) for item in value]
    return value


@given(json_values)
def test_canonical_json_parses_back_to_the_same_value(value: Any) -> None:
    assert json.loads(canonical_json(value)) == value


@given(json_values)
def test_canonical_json_does_not_depend_on_member_order(value: Any) -> None:
    encoded = canonical_json(value)
    assert canonical_json(_reversed(value)) == encoded
    assert canonical_json(json.loads(encoded)) == encoded


@given(json_values)
def test_canonical_json_sorts_members_by_utf16_code_units(value: Any) -> None:
    def check_order(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        names = [name for name, _ in pairs]
        assert names == sorted(names, key=_utf16)
        return dict(pairs)

    json.loads(canonical_json(value), object_pairs_hook=check_order)


@given(json_values)
def test_canonical_json_is_compact_utf8_with_minimal_escapes(value: Any) -> None:
    expected = json.dumps(_ordered(value), ensure_ascii=False, separators=(",", ":"))
    assert canonical_json(value) == expected.encode("utf-8")


def test_utf16_order_puts_astral_characters_before_the_top_of_the_bmp() -> None:
    # U+1F600 is the surrogate pair D83D DE00, which sorts before U+FB01.
    assert canonical_json({"\ufb01": 1, "\U0001f600": 2}) == '{"😀":2,"ﬁ":1}'.encode()


@pytest.mark.parametrize("value", [1.5, 2**53, {"n": -(2**53)}, {1: "x"}, "\ud800"])
def test_values_without_a_canonical_form_are_refused(value: Any) -> None:
    with pytest.raises(NotCanonical):
        canonical_json(value)
