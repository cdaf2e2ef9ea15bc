"""The node ledger (`CaseLedger`) on the Cassandra store.

Group commit hands the store batches that span many cases, each case
claiming its number in the same write; the store must keep each batch
atomic, number the log without gaps, and refuse a number claimed twice.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from caseledger.ledger.application import CaseLedger
from caseledger.ledger.codes.vocabulary import SubmissionChannel
from caseledger.ledger.personal.keystore import MemorySubjectKeyStore
from caseledger.ledger.personal.sealing import SubjectKeys
from tests.cassandra_fixtures import cassandra_keyspace, empty_store, store_env  # noqa: F401
from tests.ledger.test_application import (  # noqa: F401
    test_a_whole_lifecycle_chains_every_event_to_the_previous_one,
)
from tests.samples import LIXIA, Clock, applicant, food_licence_terms, material

pytestmark = [pytest.mark.cassandra, pytest.mark.usefixtures("cassandra_keyspace")]

ENV = {"CASSANDRA_TABLE_PREFIX": "ledgertest_"}


def open_ledger() -> CaseLedger:
    return CaseLedger(LIXIA, SubjectKeys(MemorySubjectKeyStore()), env=store_env(**ENV))


@pytest.fixture
def ledger() -> Iterator[CaseLedger]:
    """Also the ledger of the lifecycle test imported above, which runs here on Cassandra."""
    empty_store(store_env(**ENV))
    app = open_ledger()
    app.publish_item(food_licence_terms())
    yield app
    app.close()


@pytest.fixture(name="clock")
def _clock() -> Clock:
    return Clock()


def submit(ledger: CaseLedger, ctx: Any) -> str:
    code = str(food_licence_terms().implementation_code)
    outcome = ledger.submit(ctx, code, SubmissionChannel.WINDOW, applicant(), [material()])
    return outcome.number


def test_concurrent_submissions_get_distinct_numbers_in_one_gap_free_log(
    ledger: CaseLedger, clock: Clock
) -> None:
    contexts = [clock.ctx() for _ in range(48)]
    numbers: list[str] = []
    errors: list[BaseException] = []

    def submit_some(mine: list[Any]) -> None:
        try:
            numbers.extend(submit(ledger, ctx) for ctx in mine)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=submit_some, args=(contexts[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(numbers)) == 48
    last = ledger.recorder.max_notification_id()
    assert last is not None
    log = ledger.recorder.select_notifications(1, last + 10)
    assert [n.id for n in log] == list(range(1, last + 1))
    for number in numbers:
        case = ledger.case(number)
        assert [e.originator_version for e in ledger.recorder.select_events(case.id)] == [1]


def test_a_restarted_ledger_goes_on_with_the_next_number(ledger: CaseLedger, clock: Clock) -> None:
    first = [submit(ledger, clock.ctx()) for _ in range(3)]
    ledger.close()
    again = open_ledger()
    try:
        later = submit(again, clock.ctx())
        assert later[-6:] == "000004"
        assert again.case(first[0]).number == first[0]
    finally:
        again.close()
