"""Personal data sealed per data subject: erasing a key forgets, and breaks no chain."""

from __future__ import annotations

from pathlib import Path

import pytest

from caseledger.ledger.application import CaseLedger
from caseledger.ledger.codes.vocabulary import SubmissionChannel
from caseledger.ledger.personal.keystore import MemorySubjectKeyStore, SQLiteSubjectKeyStore
from caseledger.ledger.personal.sealing import ErasedSubject, KeyNotHeld, Sealed, SubjectKeys, mask
from caseledger.ledger.trail.canonical import GENESIS, digest
from tests.samples import CITIZEN_ID, LIXIA, Clock, applicant, food_licence_terms, material


def ledger_with(keys: SubjectKeys) -> CaseLedger:
    ledger = CaseLedger(LIXIA, keys)
    ledger.publish_item(food_licence_terms())
    return ledger


def submitted(ledger: CaseLedger) -> Sealed:
    code = str(food_licence_terms().implementation_code)
    outcome = ledger.submit(
        Clock().ctx(), code, SubmissionChannel.WINDOW, applicant(), [material()]
    )
    return Sealed.from_json(ledger.trail(outcome.case_id)[0].payload["applicant"]["name"])


def test_no_personal_datum_reaches_an_event_in_the_clear() -> None:
    ledger = ledger_with(SubjectKeys(MemorySubjectKeyStore()))
    submitted(ledger)
    (event,) = ledger.trail(ledger.resolve(f"{LIXIA}20260302000001"))
    stored = str(event.payload)
    for datum in ("张三", CITIZEN_ID, "13800138000", "解放路1号"):
        assert datum not in stored


def test_a_sealed_datum_opens_only_as_the_field_it_was_sealed_for() -> None:
    keys = SubjectKeys(MemorySubjectKeyStore())
    sealed = keys.seal("s1", "name", "张三")
    assert keys.open(sealed, "name") == "张三"
    with pytest.raises(ErasedSubject):
        keys.open(sealed, "phone")


def test_erasing_a_subject_forgets_the_data_and_keeps_every_hash() -> None:
    keys = SubjectKeys(MemorySubjectKeyStore())
    ledger = ledger_with(keys)
    name = submitted(ledger)
    trail = ledger.trail(f"{LIXIA}20260302000001")
    before = [event.hash for event in trail]
    assert ledger.open_sealed(name, "name") == "张三"
    assert keys.erase(name.subject)
    assert ledger.open_sealed(name, "name") is None
    after = ledger.trail(f"{LIXIA}20260302000001")
    assert [event.hash for event in after] == before
    previous = GENESIS
    for event in after:
        assert (event.prev_hash, digest(event.hashed_form())) == (previous, event.hash)
        previous = event.hash


def test_a_node_without_the_subjects_key_says_so_rather_than_erased() -> None:
    sealed = SubjectKeys(MemorySubjectKeyStore()).seal("s1", "name", "张三")
    with pytest.raises(KeyNotHeld):
        SubjectKeys(MemorySubjectKeyStore()).open(sealed, "name")


def test_a_returning_subject_gets_a_new_key_and_the_old_data_stays_gone(tmp_path: Path) -> None:
    store = SQLiteSubjectKeyStore(str(tmp_path / "keys.sqlite"))
    keys = SubjectKeys(store)
    old = keys.seal("s1", "name", "张三")
    keys.erase("s1")
    new = keys.seal("s1", "name", "张三")
    assert keys.open(new, "name") == "张三"
    with pytest.raises(ErasedSubject):
        keys.open(old, "name")


def test_an_erasure_survives_a_restart(tmp_path: Path) -> None:
    path = str(tmp_path / "keys.sqlite")
    keys = SubjectKeys(SQLiteSubjectKeyStore(path))
    sealed = keys.seal("s1", "name", "张三")
    keys.erase("s1")
    with pytest.raises(ErasedSubject):
        SubjectKeys(SQLiteSubjectKeyStore(path)).open(sealed, "name")


@pytest.mark.parametrize(
    ("text", "masked"), [("张三", "张*"), ("欧阳娜娜", "欧**娜"), ("王", "*"), ("", "")]
)
def test_names_are_masked_for_views(text: str, masked: str) -> None:
    assert mask(text) == masked


class CountingStore(MemorySubjectKeyStore):
    """Counts the reads of subject keys."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def key_for(self, subject: str) -> bytes | None:
        self.reads += 1
        return super().key_for(subject)


def test_sealing_an_applicants_fields_reads_their_key_once_and_binds_each_field() -> None:
    store = CountingStore()
    keys = SubjectKeys(store)
    subject = keys.subject_of(CITIZEN_ID)
    sealed = keys.seal_fields(subject, {"name": "张三", "phone": "0531-86012345"})
    assert store.reads == 1
    assert keys.open(sealed["name"], "name") == "张三"
    assert keys.open(sealed["phone"], "phone") == "0531-86012345"
    with pytest.raises(ErasedSubject):
        keys.open(sealed["phone"], "name")


def test_a_node_reads_its_pepper_once(tmp_path: Path) -> None:
    store = SQLiteSubjectKeyStore(str(tmp_path / "keys.sqlite"))
    pepper = store.pepper()
    assert SubjectKeys(store).subject_of(CITIZEN_ID) == SubjectKeys(store).subject_of(CITIZEN_ID)
    assert store.pepper() is pepper
    again = SQLiteSubjectKeyStore(str(tmp_path / "keys.sqlite"))
    assert again.pepper() == pepper  # the same secret after a restart
    store.close()
    again.close()
