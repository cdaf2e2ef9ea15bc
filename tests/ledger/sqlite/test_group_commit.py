"""Group commit: concurrent appends share writes, and one bad append fails alone.

The tests hold the first write open, as a slow fsync would, and queue the
other appends behind it; so what shares the next write is decided by the code
under test, not by the order in which the scheduler happened to run threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent import futures

import pytest

from caseledger.ledger.sqlite import group_commit
from caseledger.ledger.sqlite.group_commit import GroupCommit
from tests.timing import scaled

_WAIT = 30.0


class Disk:
    """Records each write (one transaction); refuses any containing 'bad'.
    Writes stall until `release`; `writing` is set once one has begun."""

    def __init__(self) -> None:
        self.writes: list[list[object]] = []
        self.writing = threading.Event()
        self._gate = threading.Event()

    def write(self, events: Sequence[object]) -> None:
        self.writing.set()
        if not self._gate.wait(scaled(_WAIT)):
            raise AssertionError("the test never released the first write")
        if "bad" in events:
            raise ValueError("conflict")
        self.writes.append(list(events))

    def release(self) -> None:
        self._gate.set()


class WaitingCallers:
    """Counts callers waiting for their batch. `GroupCommit.commit` queues a
    caller's events before it waits on the caller's future, so a caller that
    waits is a caller whose events are queued."""

    def __init__(self) -> None:
        self.count = 0
        self._changed = threading.Condition()

    def future(self) -> futures.Future[None]:
        callers = self

        class Watched(futures.Future[None]):
            def result(self, timeout: float | None = None) -> None:
                with callers._changed:
                    callers.count += 1
                    callers._changed.notify_all()
                return super().result(timeout)

        return Watched()

    def wait_for(self, count: int) -> None:
        with self._changed:
            reached = self._changed.wait_for(lambda: self.count >= count, scaled(_WAIT))
        assert reached, f"only {self.count} of {count} callers are waiting for their batch"


@pytest.fixture
def waiting(monkeypatch: pytest.MonkeyPatch) -> WaitingCallers:
    callers = WaitingCallers()
    monkeypatch.setattr(group_commit, "Future", callers.future)
    return callers


def started(target: Callable[..., object], *args: object) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


def join_all(threads: Sequence[threading.Thread]) -> None:
    for thread in threads:
        thread.join(scaled(_WAIT))
        assert not thread.is_alive(), "a caller never returned from commit"


def leading(group: GroupCommit, disk: Disk) -> threading.Thread:
    """A caller that leads: it finds nobody writing, and writes (held by `disk`)."""
    thread = started(group.commit, ["first"])
    assert disk.writing.wait(scaled(_WAIT)), "the first append was never written"
    return thread


def test_an_uncontended_append_is_written_by_its_caller_at_once() -> None:
    disk = Disk()
    disk.release()
    GroupCommit(disk.write).commit(["a", "b"])
    assert disk.writes == [["a", "b"]]


def test_appends_queued_while_one_is_written_share_the_next_write(
    waiting: WaitingCallers,
) -> None:
    disk = Disk()
    group = GroupCommit(disk.write)
    first = leading(group, disk)
    others = [started(group.commit, [f"e{i}"]) for i in range(5)]
    waiting.wait_for(len(others))
    disk.release()
    join_all([first, *others])
    assert disk.writes[0] == ["first"]
    assert sorted(str(e) for e in disk.writes[1]) == [f"e{i}" for i in range(5)]
    assert len(disk.writes) == 2


def test_one_bad_append_fails_alone_and_the_others_are_written(waiting: WaitingCallers) -> None:
    disk = Disk()
    group = GroupCommit(disk.write)
    outcomes: dict[str, str] = {}

    def append(name: str) -> None:
        try:
            group.commit([name])
        except ValueError as error:
            outcomes[name] = str(error)
        else:
            outcomes[name] = "written"

    first = leading(group, disk)
    names = ("x", "good", "bad", "ok")
    queued = [started(append, name) for name in names]
    waiting.wait_for(len(queued))  # all four in the batch after the first
    disk.release()
    join_all([first, *queued])
    assert outcomes == {"x": "written", "good": "written", "bad": "conflict", "ok": "written"}
    assert disk.writes[0] == ["first"]
    assert sorted(str(e) for w in disk.writes[1:] for e in w) == ["good", "ok", "x"]


def test_a_closed_group_refuses_appends() -> None:
    disk = Disk()
    disk.release()
    group = GroupCommit(disk.write)
    group.close()
    with pytest.raises(RuntimeError, match="closed"):
        group.commit(["late"])
