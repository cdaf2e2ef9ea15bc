"""A detached JVM server process owned through a pid file.

The pid file is the only link between a `start` and a later `stop` or
`status`, which run in other Python processes. A pid is trusted only while
the process behind it still carries our marker (the path of its generated
config) on its command line, so a recycled pid never gets signalled.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

HAS_PROC = Path("/proc/self/stat").exists()


class ServiceError(Exception):
    """A service could not be fetched, started or stopped; the message says why."""


@dataclass(frozen=True)
class ServerProcess:
    """Where one server instance keeps its pid, its marker and its logs."""

    name: str
    pid_file: Path
    marker: str
    console_log: Path
    service_log: Path
    stop_signal: int = signal.SIGTERM

    def running_pid(self) -> int | None:
        """The pid of our live server, or None (a stale pid file is removed)."""
        try:
            pid = int(self.pid_file.read_text().split()[0])
        except (FileNotFoundError, ValueError, IndexError):
            return None
        if _is_ours(pid, self.marker):
            return pid
        self.pid_file.unlink(missing_ok=True)
        return None

    def running_address(self) -> str:
        """The address recorded when our live server was launched, or ''."""
        if self.running_pid() is None:
            return ""
        lines = self.pid_file.read_text().splitlines()
        return lines[1] if len(lines) > 1 else ""

    def launch(self, command: Sequence[str], cwd: Path, address: str) -> subprocess.Popen[bytes]:
        """Start `command` in its own session so it outlives this script.

        The pid file holds the pid, then the address it serves on.
        """
        self.console_log.parent.mkdir(parents=True, exist_ok=True)
        with self.console_log.open("ab") as console:
            child = subprocess.Popen(
                list(command),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pid_file.write_text(f"{child.pid}\n{address}\n")
        return child

    def wait_ready(
        self, child: subprocess.Popen[bytes], is_ready: Callable[[], bool], timeout_s: float
    ) -> float:
        """Poll `is_ready` until it holds; return the seconds it took.

        Fails early when the server dies, so a broken config does not cost
        the whole timeout. Death is judged by the child handle, not by the
        pid file's marker: just after exec the new command line may not be
        readable yet.
        """
        started = time.monotonic()
        deadline = started + timeout_s
        while time.monotonic() < deadline:
            exit_code = child.poll()
            if exit_code is not None:
                self.pid_file.unlink(missing_ok=True)
                raise ServiceError(
                    f"{self.name} exited during start-up (exit {exit_code})\n{self.log_tail()}"
                )
            if is_ready():
                return time.monotonic() - started
            time.sleep(0.5)
        # A server that missed its deadline is stopped, so a failed start
        # never leaves a half-ready process behind for the next run.
        self.terminate(timeout_s=30.0)
        child.wait(timeout=10.0)
        raise ServiceError(
            f"{self.name} (pid {child.pid}) not ready after {timeout_s:.0f} s; "
            f"stopped it\n{self.log_tail()}"
        )

    def terminate(self, timeout_s: float) -> int | None:
        """Stop our server (`stop_signal`, then SIGKILL after `timeout_s`).

        Returns the pid that was stopped, or None when none was running.
        """
        pid = self.running_pid()
        if pid is None:
            return None
        start_time = _start_time(pid)
        os.kill(pid, self.stop_signal)
        deadline = time.monotonic() + timeout_s
        while _still_runs(pid, start_time):
            if time.monotonic() >= deadline:
                os.kill(pid, signal.SIGKILL)
                deadline = time.monotonic() + 10.0
            time.sleep(0.2)
        self.pid_file.unlink(missing_ok=True)
        return pid

    def log_tail(self, lines: int = 30, width: int = 300) -> str:
        """The last lines of the service log and of the console, for a failure.

        The console comes last: a JVM that cannot start says why there.
        Lines are cut to `width`, since both servers log their whole
        configuration on one line.
        """
        parts: list[str] = []
        for log in (self.service_log, self.console_log):
            if log.exists() and log.stat().st_size > 0:
                tail = log.read_text(errors="replace").splitlines()[-lines:]
                cut = [line if len(line) <= width else line[:width] + " [...]" for line in tail]
                parts.append(f"--- last lines of {log} ---\n" + "\n".join(cut))
        return "\n".join(parts) if parts else "(no log written)"


def port_answers(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def run_to_end(command: Sequence[str], cwd: Path, what: str) -> str:
    """Run a short command in the foreground; fail with its output."""
    done = subprocess.run(list(command), cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ServiceError(f"{what} failed (exit {done.returncode})\n{done.stdout}{done.stderr}")
    return done.stdout


def _is_ours(pid: int, marker: str) -> bool:
    """Alive and started with our marker on its command line."""
    if not HAS_PROC:
        return _signalable(pid)
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    return _start_time(pid) is not None and marker in cmdline


def _still_runs(pid: int, start_time: str | None) -> bool:
    """Whether the process once seen with `start_time` has not exited yet.

    Judged by pid and start time, not by the command line: an exiting
    process loses its command line before it lets go of its ports.
    """
    if not HAS_PROC:
        return _signalable(pid)
    current = _start_time(pid)
    return current is not None and current == start_time


def _start_time(pid: int) -> str | None:
    """The start time (clock ticks since boot) of a live process.

    None once it is gone or a zombie (exited, waiting for its parent to reap it).
    """
    try:
        # The name in parentheses may hold spaces; fields after it are fixed.
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    state, start_time = fields[0], fields[19]
    return None if state in {"Z", "X"} else start_time


def _signalable(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
