"""The auditor's leaf data (written from docs/audit.md) is the node's, event for event."""

from __future__ import annotations

from caseledger.cli.audit.verify import leaf_data as audited
from caseledger.ledger.application import CaseLedger
from caseledger.ledger.audit.leaves import leaf_data
from caseledger.ledger.codes.vocabulary import SubmissionChannel
from caseledger.ledger.names import stable_name
from caseledger.ledger.personal.keystore import MemorySubjectKeyStore
from caseledger.ledger.personal.sealing import SubjectKeys
from tests.samples import LIXIA, Clock, applicant, food_licence_terms, material


def test_every_kind_of_event_has_the_same_leaf_data_for_the_auditor() -> None:
    ledger = CaseLedger(LIXIA, SubjectKeys(MemorySubjectKeyStore()))
    terms = food_licence_terms()
    ledger.publish_item(terms)
    ledger.submit(
        Clock().ctx(), str(terms.implementation_code), SubmissionChannel.WINDOW, applicant(),
        [material()],
    )  # fmt: skip
    records = ledger.recorder.select_notifications(start=1, limit=100)
    assert {stable_name(r.topic).split(".")[1] for r in records} == {
        "catalogue", "case", "numbering",
    }  # fmt: skip
    for r in records:
        node = leaf_data(r.topic, r.originator_id, r.originator_version, r.state)
        cli = audited(stable_name(r.topic), str(r.originator_id), r.originator_version, r.state)
        assert node == cli
