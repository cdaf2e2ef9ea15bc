"""The application recorder of a node's own log, keeping its Merkle log where
the store has one (SQLite and in-memory); other stores' recorders as they are.
With the subscribing SQLite module the log can also be followed (`subscribe`)."""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import ApplicationRecorder, InfrastructureFactory
from eventsourcing.popo import POPOFactory
from eventsourcing.sqlite import SQLiteFactory

from caseledger.ledger.audit.memory import MerklePOPOApplicationRecorder
from caseledger.ledger.sqlite import subscribing
from caseledger.ledger.sqlite.merkle_log import SQLiteApplicationRecorder
from caseledger.ledger.sqlite.subscription import SubscribingMerkleLogRecorder


def authored_log_recorder(factory: InfrastructureFactory[Any]) -> ApplicationRecorder:
    if isinstance(factory, subscribing.SubscribingSQLiteFactory):
        # Followed by the node's views, log stream and publisher: `subscribe()`.
        following = SubscribingMerkleLogRecorder(factory.datastore)
        following.poll_interval = factory.poll_interval
        if factory.env_create_table():
            following.create_table()
        return following
    if isinstance(factory, SQLiteFactory):
        recorder = SQLiteApplicationRecorder(factory.datastore)
        if factory.env_create_table():
            recorder.create_table()
        return recorder
    if isinstance(factory, POPOFactory):
        return MerklePOPOApplicationRecorder()
    return factory.application_recorder()
