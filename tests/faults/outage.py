"""How long an outage lasts in the scenarios, counted in the township's work.

An outage is measured in appends the cut-off township acknowledges, not in
seconds, so it is long enough on any machine: the default (400 between two
looks at the receivers, seconds on this machine) is well past the feeds'
longest pause between two attempts. `CASELEDGER_FAULTS_OUTAGE_APPENDS`
raises it, so the same scenario can run for minutes in CI or hours outside it.
"""

from __future__ import annotations

import os

_VARIABLE = "CASELEDGER_FAULTS_OUTAGE_APPENDS"


def _appends(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{_VARIABLE} must be a positive whole number, not {text!r}")
    return value


OUTAGE_APPENDS = _appends(os.environ.get(_VARIABLE, "400"))
"""Appends the township acknowledges between two looks at the receivers while cut off."""

OUTAGE_WAIT = 60.0 + OUTAGE_APPENDS / 5
"""The bound (seconds, before scaling) on waiting for those appends: a minute,
and a fifth of a second for each, so a longer outage is never cut short."""
