"""Persistence module: the library's SQLite store whose logs can be followed.

Select it like the library's own modules::

    PERSISTENCE_MODULE=caseledger.ledger.sqlite.subscribing
    SQLITE_DBNAME=var/370102000000.events.sqlite
    SQLITE_POLL_INTERVAL=0.5      # optional, seconds; other processes' commits

Every setting of `eventsourcing.sqlite` applies unchanged. Application and
process recorders get `subscribe(gt=position)` (`subscription`); aggregate
and tracking recorders are the library's.

The library finds the factory by looking for exactly one factory class in
this module, so the library's own factory is referred to only through its
module, never imported by name.
"""

from __future__ import annotations

from eventsourcing import sqlite as library
from eventsourcing.persistence import ApplicationRecorder, ProcessRecorder
from eventsourcing.utils import Environment, EnvType

from caseledger.ledger.sqlite.subscription import (
    DEFAULT_POLL_INTERVAL,
    SubscribingSQLiteApplicationRecorder,
    SubscribingSQLiteProcessRecorder,
)

__all__ = ["Factory", "SubscribingSQLiteFactory"]


class SubscribingSQLiteFactory(library.SQLiteFactory):
    """The library's SQLite factory, making recorders that can subscribe."""

    SQLITE_POLL_INTERVAL = "SQLITE_POLL_INTERVAL"

    application_recorder_class = SubscribingSQLiteApplicationRecorder
    process_recorder_class = SubscribingSQLiteProcessRecorder

    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        text = (self.env.get(self.SQLITE_POLL_INTERVAL) or "").strip()
        try:
            self.poll_interval = float(text) if text else DEFAULT_POLL_INTERVAL
        except ValueError:
            raise OSError(
                f"{self.SQLITE_POLL_INTERVAL} must be a number of seconds: {text!r}"
            ) from None
        if self.poll_interval <= 0:
            raise OSError(f"{self.SQLITE_POLL_INTERVAL} must be positive: {text!r}")

    def application_recorder(self) -> ApplicationRecorder:
        recorder = super().application_recorder()
        if isinstance(recorder, SubscribingSQLiteApplicationRecorder):
            recorder.poll_interval = self.poll_interval
        return recorder

    def process_recorder(self) -> ProcessRecorder:
        recorder = super().process_recorder()
        if isinstance(recorder, SubscribingSQLiteProcessRecorder):
            recorder.poll_interval = self.poll_interval
        return recorder


Factory = SubscribingSQLiteFactory
