"""The stage table itself: which statuses are final, and where a case may be handed over."""

from __future__ import annotations

import pytest

from caseledger.ledger.case.stages import ALLOWED, Command, Status

FINAL = {Status.RETURNED, Status.REFUSED, Status.CONCLUDED, Status.WITHDRAWN}
"""预审退回, 不予受理, 已办结, 已撤件: no further processing."""

OVER = {Status.WITHDRAWN, Status.RETURNED, Status.REFUSED}
"""Cases that are over without a result to deliver: they stay where they are."""


@pytest.mark.parametrize("status", list(Status))
def test_a_status_is_final_exactly_when_no_further_processing_is_possible(
    status: Status,
) -> None:
    assert status.is_final is (status in FINAL)


@pytest.mark.parametrize("status", [s for s in Status if s not in OVER])
def test_a_case_may_be_handed_over_in_a_status_that_is_not_over(status: Status) -> None:
    assert status in ALLOWED[Command.REQUEST_TRANSFER]


@pytest.mark.parametrize("status", [s for s in Status if s in OVER])
def test_a_case_that_is_over_may_not_be_handed_over(status: Status) -> None:
    assert status not in ALLOWED[Command.REQUEST_TRANSFER]
