"""The Merkle log of a node's own log, whatever its store: kept by the
recorder itself (SQLite, memory), derived from the log (Cassandra), or
none."""

from __future__ import annotations

from eventsourcing.persistence import ApplicationRecorder

from caseledger.ledger.audit.cassandra import CassandraMerkleLog
from caseledger.ledger.audit.log import MerkleLog
from caseledger.ledger.cassandra.recorders import CassandraApplicationRecorder


def merkle_log_of(recorder: ApplicationRecorder) -> MerkleLog | None:
    if isinstance(recorder, MerkleLog):
        return recorder
    if isinstance(recorder, CassandraApplicationRecorder):
        return CassandraMerkleLog(recorder.datastore)
    return None
