"""Flame graphs of a benchmark's node, taken while one load runs.

py-spy samples the node's process from outside (no change to the node, no
profiler inside the measured process), for the length of one figure only, so
the graph shows what that load costs and nothing of setup or baselines. The
sampler takes CPU of its own, so a profiled run's figures are not the node's.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
from pathlib import Path

_SAMPLES_PER_SECOND = 100
_WRITING_SECONDS = 120


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

    def begin(self, name: str) -> None:
        self._folder.mkdir(parents=True, exist_ok=True)
        for output, form in ((f"{name}.svg", "flamegraph"), (f"{name}.txt", "raw")):
            self._running.append(
                subprocess.Popen(
                    [
                        self._executable,
                        "record",
                        "--pid",
                        str(self._pid),
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
        """Stop recording (py-spy writes its output on SIGINT) and wait for it."""
        for recording in self._running:
            recording.send_signal(signal.SIGINT)
        for recording in self._running:
            recording.wait(timeout=_WRITING_SECONDS)
        self._running.clear()
        # The graph's title quotes the command line: name no folder of this machine.
        for graph in self._folder.glob("*.svg"):
            text = graph.read_text(encoding="utf-8")
            text = text.replace(self._executable, "py-spy")
            text = text.replace(str(self._folder.resolve()) + "/", "")
            text = text.replace(str(self._folder) + "/", "")
            graph.write_text(text, encoding="utf-8")
