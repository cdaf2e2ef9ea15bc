"""The writer lease (写入租约) of one notification log: one writing process at a time.

The lease row holds an `epoch` that only grows and an `owner` that expires
with a Cassandra TTL unless the owner renews it. A process claims the lease
when no owner is present, and the claim raises the epoch by one. A second
process that finds a live owner waits up to `lease_wait` seconds (so a
restart after kill -9 succeeds once the dead owner's TTL runs out) and is
then refused with `LeaseHeld`.

The lease alone cannot stop a writer that stalled past its TTL and woke up
after another took over: the epoch is therefore also the fencing token that
every append checks inside the log partition it writes (see
`caseledger.ledger.cassandra.writer`). The lease decides who may start; the
epoch makes the loser's writes fail.

Every write to the lease row is a lightweight transaction: claim (one when
free), renewal (one every `lease_seconds / 3`) and release (one on close).
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from datetime import UTC, datetime
from uuid import UUID, uuid4

from eventsourcing.persistence import OperationalError

from caseledger.ledger.cassandra.schema import WRITER
from caseledger.ledger.cassandra.session import CqlSession, OutcomeUnknown
from caseledger.ledger.cassandra.settings import CassandraSettings


class LeaseHeld(OperationalError):
    """Another live process writes this log; this one may not."""

    def __init__(self, log: str, owner: str) -> None:
        self.log = log
        self.owner = owner
        super().__init__(f"log {log} is being written by another process ({owner})")


class WriterFenced(OperationalError):
    """A newer writer took this log over; this writer's appends are refused."""

    def __init__(self, log: str, epoch: int, reason: str) -> None:
        self.log = log
        self.epoch = epoch
        self.reason = reason
        super().__init__(f"log {log}: the writer of epoch {epoch} is fenced ({reason})")


class WriterLease:
    """Claim, keep and give back the lease of one log."""

    def __init__(self, session: CqlSession, settings: CassandraSettings, log: str) -> None:
        self._session = session
        self._settings = settings
        self._table = settings.table(WRITER)
        self.log = log
        self.owner: UUID = uuid4()
        self.epoch = 0
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None
        self.lost = threading.Event()
        started = datetime.now(UTC).isoformat(timespec="seconds")
        self.owner_info = f"{socket.gethostname()} pid {os.getpid()} since {started}"

    def claim(self) -> int:
        """Take the lease (raising the epoch) and keep it renewed; returns the epoch."""
        deadline = time.monotonic() + self._settings.lease_wait
        while True:
            try:
                rows = self._session.rows(
                    f"SELECT epoch, owner, owner_info FROM {self._table} WHERE log = ?",
                    (self.log,),
                    serial=True,
                )
            except OutcomeUnknown:
                # A serial read is a Paxos round, and times out like a write
                # while a member has just died and the others are busy: the
                # lease is not known yet, so ask again within the wait.
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.25)
                continue
            row = rows[0] if rows else {"epoch": None, "owner": None, "owner_info": None}
            if row["owner"] == self.owner:
                # An earlier claim whose answer was lost did apply.
                self.epoch = int(row["epoch"] or 0)
                break
            if row["owner"] is None:
                if self._try_claim(row["epoch"]):
                    break
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LeaseHeld(self.log, str(row["owner_info"]))
            time.sleep(min(0.25, remaining))
        self._renewer = threading.Thread(
            target=self._renew_until_stopped, name=f"lease-{self.log}", daemon=True
        )
        self._renewer.start()
        return self.epoch

    def release(self) -> None:
        """Stop renewing and give the lease back, so a successor need not wait."""
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
            self._renewer = None
        if self.epoch and not self.lost.is_set():
            # On failure the owner's TTL frees the lease anyway.
            with contextlib.suppress(OperationalError):
                self._session.cas(
                    [
                        (
                            f"UPDATE {self._table} SET owner = null, owner_info = null "
                            "WHERE log = ? IF epoch = ?",
                            (self.log, self.epoch),
                        )
                    ]
                )

    def _try_claim(self, seen_epoch: int | None) -> bool:
        epoch = (seen_epoch or 0) + 1
        try:
            outcome = self._session.cas(
                [
                    (
                        f"UPDATE {self._table} SET epoch = ? WHERE log = ? "
                        "IF owner = null AND epoch = ?",
                        (epoch, self.log, seen_epoch),
                    ),
                    self._ownership(),
                ]
            )
        except OutcomeUnknown:
            return False  # The next read tells whether it applied.
        if outcome.applied:
            self.epoch = epoch
        return outcome.applied

    def _ownership(self) -> tuple[str, tuple[object, ...]]:
        return (
            f"UPDATE {self._table} USING TTL ? SET owner = ?, owner_info = ? WHERE log = ?",
            (self._settings.lease_seconds, self.owner, self.owner_info, self.log),
        )

    def _renew_until_stopped(self) -> None:
        interval = max(self._settings.lease_seconds / 3, 0.2)
        while not self._stop.wait(interval):
            try:
                cql, params = self._ownership()
                outcome = self._session.cas([(cql + " IF epoch = ?", (*params, self.epoch))])
            except OperationalError:
                continue  # Try again; the epoch check in the log keeps writes safe.
            if not outcome.applied:
                self.lost.set()
                return
