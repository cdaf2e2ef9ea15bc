"""A signal that the node's own log grew, for readers that follow it.

The SQLite recorder cannot notify, so followers would poll; with this they
sleep until the next append (or a timeout, which bounds the cost of a missed
wake-up: appends made by another process are only seen then).
"""

from __future__ import annotations

import threading


class LogSignal:
    def __init__(self) -> None:
        self._appends = 0
        self._changed = threading.Condition()

    @property
    def appends(self) -> int:
        """How many appends were signalled; compare before and after a read."""
        with self._changed:
            return self._appends

    def appended(self) -> None:
        with self._changed:
            self._appends += 1
            self._changed.notify_all()

    def wait_beyond(self, seen: int, timeout: float) -> None:
        """Return once an append after `seen` was signalled, or after `timeout`."""
        with self._changed:
            self._changed.wait_for(lambda: self._appends != seen, timeout)
