"""One process per node store (存储锁): a node's data folder is locked per division code.

Two processes writing one node's stores would each believe it alone appends,
and their logs, Merkle trees and positions would interleave. So `serve` takes
an exclusive lock on `<data>/<code>.lock` before it opens any store, and holds
it until the process ends (the kernel drops it even on SIGKILL). The file
holds the holder's PID, so the refusal can name the process to stop.

The lock file is never removed: removing it while another process waits on it
would let a third one lock a new file of the same name beside the second.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class StoreLocked(Exception):
    """Another process holds the store lock of this node."""

    def __init__(self, path: Path, holder: str) -> None:
        self.path = path
        self.holder = holder
        held_by = f"process {holder}" if holder else "another process"
        super().__init__(
            f"the stores in {path.parent} are in use by {held_by} (lock {path}); "
            "stop that node first: one node's stores have one writer"
        )


def lock_file(data_dir: Path, code: str) -> Path:
    return data_dir / f"{code}.lock"


class StoreLock:
    """The held lock; `release` (or the process ending) lets another node take it."""

    def __init__(self, path: Path, descriptor: int) -> None:
        self.path = path
        self._descriptor: int | None = descriptor

    def release(self) -> None:
        if self._descriptor is not None:
            os.close(self._descriptor)  # closing drops the flock
            self._descriptor = None


def lock_store(data_dir: Path, code: str) -> StoreLock:
    """Lock node `code`'s stores in `data_dir`, or raise `StoreLocked` naming the holder.

    `flock` locks belong to the open file, so a second lock fails even in the
    same process (a test starting the node twice) and never outlives its holder.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    path = lock_file(data_dir, code)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(descriptor, 32, 0).decode("ascii", errors="replace").strip()
        os.close(descriptor)
        raise StoreLocked(path, holder) from None
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, f"{os.getpid()}\n".encode("ascii"), 0)
    return StoreLock(path, descriptor)
