"""Persistence module for `eventsourcing` on Apache Cassandra 5.0.

Selected with `PERSISTENCE_MODULE=caseledger.ledger.cassandra`; the library
finds `Factory` here. `docs/cassandra.md` explains the tables, the single
writer and each crash window.
"""

from caseledger.ledger.cassandra.factory import Factory

__all__ = ["Factory"]
