"""A node on the subscribing SQLite store keeps its Merkle log with its own log, and
that log can be followed (`subscribe`), as the node's views follow it."""

from __future__ import annotations

from pathlib import Path

from caseledger.ledger.application import CaseLedger
from caseledger.ledger.audit.merkle_logs import merkle_log_of
from caseledger.ledger.personal.keystore import MemorySubjectKeyStore
from caseledger.ledger.personal.sealing import SubjectKeys
from caseledger.ledger.sqlite.subscription import SubscribingMerkleLogRecorder
from tests.samples import LIXIA, food_licence_terms


def test_the_authored_log_keeps_its_merkle_log_and_can_be_followed(tmp_path: Path) -> None:
    env = {
        "PERSISTENCE_MODULE": "caseledger.ledger.sqlite.subscribing",
        "SQLITE_DBNAME": str(tmp_path / "events.sqlite"),
        "SQLITE_POLL_INTERVAL": "0.2",
    }
    ledger = CaseLedger(LIXIA, SubjectKeys(MemorySubjectKeyStore()), env=env)
    try:
        assert isinstance(ledger.recorder, SubscribingMerkleLogRecorder)
        assert ledger.recorder.poll_interval == 0.2
        log = merkle_log_of(ledger.recorder)
        assert log is not None
        with ledger.recorder.subscribe(gt=0) as subscription:
            ledger.publish_item(food_licence_terms())
            first = next(iter(subscription))
        assert first.id == 1
        with log.tree() as tree:
            assert tree.size == 1
    finally:
        ledger.close()
