"""Group commit: concurrent appends share writes, and one bad append fails alone."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from caseledger.ledger.sqlite.group_commit import GroupCommit


class Disk:
    """Records each write (one transaction); refuses any containing 'bad'."""

    def __init__(self) -> None:
        self.writes: list[list[object]] = []
        self.gate = threading.Event()
        self.gate.set()

    def write(self, events: Sequence[object]) -> None:
        self.gate.wait()
        if "bad" in events:
            raise ValueError("conflict")
        self.writes.append(list(events))


def test_an_uncontended_append_is_written_by_its_caller_at_once() -> None:
    disk = Disk()
    GroupCommit(disk.write).commit(["a", "b"])
    assert disk.writes == [["a", "b"]]


def test_appends_queued_while_one_is_written_share_the_next_write() -> None:
    disk = Disk()
    group = GroupCommit(disk.write)
    disk.gate.clear()  # the first write stalls, as an fsync does
    first = threading.Thread(target=group.commit, args=(["first"],))
    first.start()
    others = [threading.Thread(target=group.commit, args=([f"e{i}"],)) for i in range(5)]
    for thread in others:
        thread.start()
    while len(group._queue) < 5:
        pass
    disk.gate.set()
    for thread in [first, *others]:
        thread.join()
    assert disk.writes[0] == ["first"]
    assert sorted(str(e) for e in disk.writes[1]) == [f"e{i}" for i in range(5)]
    assert len(disk.writes) == 2


def test_one_bad_append_fails_alone_and_the_others_are_written() -> None:
    disk = Disk()
    group = GroupCommit(disk.write)
    disk.gate.clear()
    errors: list[BaseException] = []

    def append(events: list[object]) -> None:
        try:
            group.commit(events)
        except ValueError as error:
            errors.append(error)

    threads = [threading.Thread(target=append, args=([e],)) for e in ("x", "good", "bad", "ok")]
    for thread in threads:
        thread.start()
    while len(group._queue) < 3:
        pass
    disk.gate.set()
    for thread in threads:
        thread.join()
    written = sorted(str(e) for w in disk.writes for e in w)
    assert written == ["good", "ok", "x"]
    assert len(errors) == 1


def test_a_closed_group_refuses_appends() -> None:
    group = GroupCommit(Disk().write)
    group.close()
    with pytest.raises(RuntimeError, match="closed"):
        group.commit(["late"])
