"""How long tests wait, and the one factor that stretches it for slow machines.

Every deadline a test sets (a poll, a process exit, a call) is written for the
project's machine (2 cores) and passed through `scaled`, which multiplies it
by `CASELEDGER_TEST_TIME_SCALE` (default 1). A slower machine raises that one
number instead of every test's. Deadlines only bound waiting: no test asserts
that something was fast. What no deadline covers, a hang, is bounded by the
per-test limit of pytest-timeout (`timeout` in pyproject.toml).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

_SCALE_VARIABLE = "CASELEDGER_TEST_TIME_SCALE"


def _scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise ValueError(f"{_SCALE_VARIABLE} must be a positive number, not {text!r}")
    return value


SCALE = _scale(os.environ.get(_SCALE_VARIABLE, "1"))
"""The factor every deadline of the tests is multiplied by."""

POLL_INTERVAL = 0.02
"""Seconds between two looks at a condition."""


def scaled(seconds: float) -> float:
    """`seconds` of this machine's time, on the machine the tests run on."""
    return seconds * SCALE


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Poll until `condition` holds; fail naming `what` after `timeout` (scaled) seconds.

    Whatever `condition` raises ends the wait at once: a condition that cannot
    be answered yet (a node not up, a case not arrived) catches only the
    errors that say so and returns False."""
    deadline = time.monotonic() + scaled(timeout)
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {scaled(timeout):g} s waiting for {what}")
        time.sleep(POLL_INTERVAL)
