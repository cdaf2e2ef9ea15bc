"""A case's trail: its hash chain, and replaying it from scratch.

The property tests drive a case with random commands and arguments; refused
commands are skipped, and what was accepted must replay to the same state
and verify as a chain.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caseledger.ledger.case.aggregate import Case, Material
from caseledger.ledger.case.events import CaseEvent
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
    COMMANDS,
    LICENCE_FILE,
    SIGNER,
    chain_faults,
    follow,
    rate_bad,
    submit,
    trail,
)
from tests.samples import LIXIA, PROVINCE, Clock, material

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


def test_each_hash_is_the_digest_of_the_event_s_hashed_form(lifecycle: list[CaseEvent]) -> None:
    assert len(lifecycle) == len(LIFECYCLE) + 1
    for event in lifecycle:
        assert event.hash == digest(event.hashed_form())


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


@dataclass(frozen=True)
class Move:
    """One command with its arguments, `days` after the previous move, from `node`."""

    command: Command
    args: tuple[Any, ...]
    days: int
    node: str

    def run(self, case: Case, clock: Clock) -> None:
        getattr(case, self.command.value)(clock.ctx(node=self.node, days=self.days), *self.args)


# Mostly well-formed, so that random plans get past the field checks and deep
# into the stage model; the malformed few must be refused without a trace.
texts = st.sampled_from(["审查", "符合条件", "李四", "需要补充说明"] * 4 + ["", "  "])
sha256s = st.sampled_from([LICENCE_FILE] * 6 + [LICENCE_FILE.upper(), LICENCE_FILE[:-1], ""])
days = st.dates(min_value=date(2026, 1, 1), max_value=date(2031, 12, 31))
limits = st.tuples(st.integers(0, 30), st.integers(0, 30)).map(
    lambda pair: TimeLimits(max(pair), min(pair))
)
materials = st.lists(st.builds(Material, texts, sha256s), max_size=2) | st.just([material()])

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
    Command.CONCLUDE: st.tuples(st.sampled_from(ConclusionResult), texts, texts),
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
}


# Commands that end a case early are drawn less often, so plans go deep.
ENDINGS = (Command.WITHDRAW, Command.REFUSE_ACCEPTANCE, Command.RETURN_PRE_REVIEW)
WEIGHTED_COMMANDS = [c for c in COMMANDS for _ in range(1 if c in ENDINGS else 6)]


@st.composite
def moves(draw: st.DrawFn) -> Move:
    command = draw(st.sampled_from(WEIGHTED_COMMANDS))
    return Move(
        command,
        draw(ARGUMENTS[command]),
        draw(st.integers(0, 3)),
        draw(st.sampled_from([LIXIA] * 19 + [PROVINCE])),
    )


def test_every_command_has_generated_arguments() -> None:
    assert set(ARGUMENTS) == set(COMMANDS)


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


plans = st.lists(moves(), min_size=20, max_size=60)
submissions = st.sampled_from(SubmissionChannel)


@settings(max_examples=80, deadline=None)
@given(channel=submissions, issues_certificate=st.booleans(), plan=plans)
def test_replaying_the_trail_reproduces_the_case(
    channel: SubmissionChannel, issues_certificate: bool, plan: list[Move]
) -> None:
    case, accepted = _driven(channel, issues_certificate, plan)
    events = trail(case)
    assert len(events) == accepted + 1 == case.version
    assert state(replayed(events)) == state(case)
    assert chain_faults(events) == []


@settings(max_examples=40, deadline=None)
@given(channel=submissions, plan=plans)
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
