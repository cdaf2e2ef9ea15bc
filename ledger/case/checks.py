"""Checks of what a clerk enters, against the case and the clock.

A date a clerk types (a day of receipt) must be one that can have happened:
not after the day the command runs, and not before the step it follows. A
case is accepted only with every material its item requires. These checks
run before any event exists, like every guard of `Case`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from caseledger.ledger.case.events import china_date
from caseledger.ledger.errors import InvalidInput

CLOCK_SKEW = timedelta(minutes=5)
"""How far a clerk's clock may run ahead of the node's: a receipt signed just
after midnight on a clock five minutes fast is not a date in the future."""


def day_not_in_future(day: date, at: datetime, field: str) -> None:
    """`day` (Beijing) is not later than the day of `at`, allowing for the skew."""
    latest = china_date(at + CLOCK_SKEW)
    if day > latest:
        raise InvalidInput.single(
            field, f"{day.isoformat()} is in the future (today is {china_date(at).isoformat()})"
        )


def day_not_before(day: date, earlier: date | None, field: str, step: str) -> None:
    """`day` is not before `earlier`, the day of the step it follows (if any)."""
    if earlier is not None and day < earlier:
        raise InvalidInput.single(
            field, f"{day.isoformat()} is before the {step} on {earlier.isoformat()}"
        )


def missing_materials(received: Iterable[str], required: Iterable[str]) -> list[str]:
    """The required materials (申请材料) not among those received, in the item's order.

    Names are compared as the catalogue writes them, ignoring surrounding
    blanks: a material is identified by its name on the item's list."""
    have = {name.strip() for name in received}
    return [name for name in required if name.strip() not in have]
