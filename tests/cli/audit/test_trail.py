"""The command line's own check of a case trail, against hand-built node answers."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from caseledger.cli.audit.trail import GENESIS, verify_trail
from caseledger.v1 import ledger_pb2
from tests.cli.fakes import (
    CASE_ID,
    CASE_NUMBER,
    event_from,
    forms_of,
    good_trail,
    hashed_form,
    payload_for,
    rechained,
)


def _break(
    response: ledger_pb2.ListCaseEventsResponse, reference: str = CASE_ID
) -> tuple[int | None, str]:
    report = verify_trail(response, reference)
    assert not report.verified
    assert report.first_break is not None
    return report.first_break


def test_a_well_formed_trail_verifies() -> None:
    report = verify_trail(good_trail(), CASE_ID)
    assert report.verified
    assert report.first_break is None
    assert [check.position for check in report.checks] == [1, 2, 3, 4, 5]


def test_a_trail_asked_for_by_case_number_verifies() -> None:
    report = verify_trail(good_trail(), CASE_NUMBER)
    assert report.verified
    assert report.case_id == CASE_ID


def test_a_changed_byte_in_a_hashed_form_breaks_the_chain_at_that_event() -> None:
    trail = good_trail()
    altered = bytearray(trail.events[1].hashed_form)
    altered[len(altered) // 2] ^= 0x01
    trail.events[1].hashed_form = bytes(altered)
    position, reason = _break(trail)
    assert position == 2
    assert "hash is not the SHA-256 of the hashed form" in reason


def test_a_rehashed_event_with_a_wrong_prev_is_caught() -> None:
    trail = good_trail()
    form = forms_of(trail)[2]
    trail.events[2].CopyFrom(event_from({**form, "prev": "ab" * 32}))
    position, reason = _break(trail)
    assert position == 3
    assert "does not chain to event 2" in reason


def test_a_first_event_not_chained_to_zeros_is_caught() -> None:
    trail = good_trail(1)
    trail.events[0].CopyFrom(event_from({**forms_of(trail)[0], "prev": "1" * 64}))
    position, reason = _break(trail)
    assert position == 1
    assert "64 zeros" in reason


def test_a_dropped_event_leaves_a_gap_in_versions() -> None:
    trail = good_trail()
    del trail.events[1]
    position, reason = _break(trail)
    assert position == 2
    assert "hashed version is 3 at position 2" in reason
    assert "missing" in reason


def test_a_dropped_event_is_caught_even_when_the_chain_is_rebuilt() -> None:
    forms = forms_of(good_trail())
    del forms[1]
    position, reason = _break(rechained(forms))
    assert position == 2
    assert "hashed version is 3 at position 2" in reason


def test_two_swapped_events_are_caught_at_the_first_of_them() -> None:
    trail = good_trail()
    second, third = ledger_pb2.CaseEvent(), ledger_pb2.CaseEvent()
    second.CopyFrom(trail.events[1])
    third.CopyFrom(trail.events[2])
    trail.events[1].CopyFrom(third)
    trail.events[2].CopyFrom(second)
    position, reason = _break(trail)
    assert position == 2
    assert "out of order" in reason


def test_an_event_of_another_case_is_caught() -> None:
    forms = forms_of(good_trail())
    forms[3] = {**forms[3], "case": "00000000-0000-4000-8000-000000000000"}
    position, reason = _break(rechained(forms))
    assert position == 4
    assert "hashed case" in reason


def test_a_readable_field_that_differs_from_the_hashed_form_is_caught() -> None:
    trail = good_trail()
    trail.events[2].node = "370000000000"
    position, reason = _break(trail)
    assert position == 3
    assert "node '370000000000' but hashed node '370102000000'" in reason


def test_a_payload_that_differs_from_the_hashed_payload_is_caught() -> None:
    trail = good_trail()
    trail.events[1].payload_json = json.dumps({"note": "rewritten"})
    position, reason = _break(trail)
    assert position == 2
    assert "payload differs" in reason


def test_an_operator_that_differs_from_the_hashed_operator_is_caught() -> None:
    trail = good_trail()
    trail.events[3].operator.role = "approver"
    position, reason = _break(trail)
    assert position == 4
    assert "operator" in reason


def test_a_time_that_differs_from_the_hashed_time_is_caught() -> None:
    trail = good_trail()
    trail.events[2].occurred_at.seconds += 3600
    position, reason = _break(trail)
    assert position == 3
    assert "occurred_at" in reason


def test_a_trail_that_does_not_begin_with_submission_is_caught() -> None:
    forms = forms_of(good_trail())
    forms[0] = {**forms[0], "type": "Accepted"}
    position, reason = _break(rechained(forms))
    assert position == 1
    assert "begins with 'Accepted'" in reason


def test_a_submission_under_another_case_number_is_caught() -> None:
    forms = forms_of(good_trail())
    forms[0] = {**forms[0], "payload": {**forms[0]["payload"], "number": "370102260302000099"}}
    position, reason = _break(rechained(forms), CASE_NUMBER)
    assert position == 1
    assert "submitted as '370102260302000099'" in reason


def test_an_answer_for_another_case_number_is_caught() -> None:
    position, reason = _break(good_trail(), "370102260302000777")
    assert position is None
    assert "the node answered for" in reason


def test_a_non_canonical_hashed_form_is_caught_even_when_its_hash_matches() -> None:
    trail = good_trail()
    form = forms_of(trail)[1]
    padded = json.dumps(form, ensure_ascii=False, indent=1).encode()
    trail.events[1].CopyFrom(event_from(form, padded))
    # The next event chains to the padded event's hash, so only the encoding is wrong.
    forms = forms_of(trail)
    trail.events[2].CopyFrom(event_from({**forms[2], "prev": trail.events[1].hash}))
    position, reason = _break(trail)
    assert position == 2
    assert "canonical" in reason


def test_an_empty_trail_does_not_verify() -> None:
    position, reason = _break(ledger_pb2.ListCaseEventsResponse(case_number=CASE_NUMBER))
    assert position is None
    assert "no events" in reason


def test_every_event_after_a_break_is_still_checked_on_its_own() -> None:
    trail = good_trail()
    trail.events[1].hashed_form = trail.events[1].hashed_form + b" "
    report = verify_trail(trail, CASE_ID)
    assert [check.ok for check in report.checks] == [True, False, True, True, True]


def test_a_first_event_chained_to_sixty_four_zeros_verifies() -> None:
    zeros = "0" * 64  # docs/canonical.md, written out rather than taken from either side's code
    first = event_from(hashed_form(1, "Submitted", zeros, payload_for(1, "Submitted")))
    trail = ledger_pb2.ListCaseEventsResponse(events=[first], case_number=CASE_NUMBER)
    assert verify_trail(trail, CASE_ID).verified
    assert zeros == GENESIS


@given(st.data())
def test_any_flipped_bit_in_any_hashed_form_is_caught(data: st.DataObject) -> None:
    trail = good_trail()
    index = data.draw(st.integers(0, len(trail.events) - 1), label="event")
    form = bytearray(trail.events[index].hashed_form)
    offset = data.draw(st.integers(0, len(form) - 1), label="byte")
    form[offset] ^= 1 << data.draw(st.integers(0, 7), label="bit")
    trail.events[index].hashed_form = bytes(form)
    assert _break(trail)[0] == index + 1
