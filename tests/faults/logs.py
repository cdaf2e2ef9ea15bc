"""What a node process said, read from its JSON log lines."""

from __future__ import annotations

import json
from pathlib import Path


def logged(log: Path, event: str) -> list[dict[str, object]]:
    """The log lines of a node process that record `event`."""
    found: list[dict[str, object]] = []
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a traceback, or a line cut short by a kill
        if isinstance(record, dict) and record.get("event") == event:
            found.append(record)
    return found
