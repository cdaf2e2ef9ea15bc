"""The application recorder of a node's own log, keeping its Merkle log where
the store has one (SQLite and in-memory); other stores' recorders as they are."""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import ApplicationRecorder, InfrastructureFactory
from eventsourcing.popo import POPOFactory
from eventsourcing.sqlite import SQLiteFactory

from caseledger.ledger.audit.memory import MerklePOPOApplicationRecorder
from caseledger.ledger.sqlite.merkle_log import SQLiteApplicationRecorder


def authored_log_recorder(factory: InfrastructureFactory[Any]) -> ApplicationRecorder:
    if isinstance(factory, SQLiteFactory):
        recorder = SQLiteApplicationRecorder(factory.datastore)
        if factory.env_create_table():
            recorder.create_table()
        return recorder
    if isinstance(factory, POPOFactory):
        return MerklePOPOApplicationRecorder()
    return factory.application_recorder()
