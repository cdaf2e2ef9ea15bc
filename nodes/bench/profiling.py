"""Flame graphs of a benchmark's node, taken while one load runs.

py-spy samples the node's process from outside (no change to the node, no
profiler inside the measured process), for the length of one figure only, so
the graph shows what that load costs and nothing of setup or baselines.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

_SAMPLES_PER_SECOND = 200


class Profiler:
    """Records `<folder>/<name>.svg` (a flame graph) and `<name>.txt` (the
    collapsed stacks, for grep and diff) of process `pid`, one load at a time."""

    def __init__(self, pid: int, folder: Path) -> None:
        executable = shutil.which("py-spy")
        if executable is None:
            raise RuntimeError("profiling needs py-spy (pip install -e '.[dev]')")
        self._executable = executable
        self._pid = pid
        self._folder = folder
        self._running: list[subprocess.Popen[bytes]] = []

    def begin(self, name: str, seconds: float) -> None:
        self._folder.mkdir(parents=True, exist_ok=True)
        duration = str(max(1, round(seconds)))
        for output, form in ((f"{name}.svg", "flamegraph"), (f"{name}.txt", "raw")):
            self._running.append(
                subprocess.Popen(
                    [
                        self._executable,
                        "record",
                        "--pid",
                        str(self._pid),
                        "--duration",
                        duration,
                        "--rate",
                        str(_SAMPLES_PER_SECOND),
                        "--threads",
                        "--format",
                        form,
                        "--output",
                        str(self._folder / output),
                        "--nonblocking",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )

    def end(self) -> None:
        """Wait for the recordings of the load just run to be written."""
        for recording in self._running:
            recording.wait(timeout=60)
        self._running.clear()
