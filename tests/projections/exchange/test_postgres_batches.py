"""The exchange in PostgreSQL, where writers are let in side by side: batch
numbers still commit in order, and the reader role may read the stage tables."""

from __future__ import annotations

import threading
from pathlib import Path

import psycopg
import pytest

from caseledger.projections.exchange import STAGE_TABLES, ExchangeViews
from caseledger.projections.postgres_store import READER_ROLE, grant_reader
from tests.projections.stores import ViewStore
from tests.timing import wait_for

pytestmark = pytest.mark.postgres


@pytest.fixture
def store() -> ViewStore:
    return ViewStore("postgres")


def test_a_second_writer_waits_for_the_first_to_commit_before_it_takes_a_number(
    store: ViewStore, tmp_path: Path
) -> None:
    dsn, schema = store.location(tmp_path)
    holding, release = threading.Event(), threading.Event()
    numbers: dict[str, int | None] = {}
    failures: list[BaseException] = []

    def write(exchange: ExchangeViews, upstream: str, hold: bool) -> None:
        try:
            with exchange.batch(upstream, 1) as batch:
                # The number a batch takes on its first changed row.
                batch._take_number()
                numbers[upstream] = batch.number
                if hold:
                    holding.set()
                    release.wait()
        except BaseException as error:
            failures.append(error)

    threads: list[threading.Thread] = []
    try:
        first, second, reader = (ExchangeViews(store.open(dsn, schema)) for _ in range(3))
        threads.append(threading.Thread(target=write, args=(first, "authored", True)))
        threads[0].start()
        assert holding.wait(30)
        threads.append(threading.Thread(target=write, args=(second, "received", False)))
        threads[1].start()
        with psycopg.connect(dsn, autocommit=True) as watcher:
            wait_for(
                lambda: (
                    watcher.execute(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE wait_event_type = 'Lock' AND query LIKE %s",
                        (f'%"{schema}".exchange_batches%',),
                    ).fetchone()
                    == (1,)
                ),
                "the second writer waiting for the first",
            )
        # Readers are not held up, and see no batch until it commits.
        assert reader.head() == 0
        assert "received" not in numbers
        release.set()
        for thread in threads:
            thread.join(30)
        assert failures == []
        assert numbers == {"authored": 1, "received": 2}
        assert reader.head() == 2
    finally:
        release.set()
        for thread in threads:
            thread.join(30)
        store.close_all()


def test_the_reader_role_may_read_every_stage_table(store: ViewStore, tmp_path: Path) -> None:
    dsn, schema = store.location(tmp_path)
    # The operator makes the role first (`views-reader`); the tables made after
    # it are granted to it as they are made.
    grant_reader(dsn)
    try:
        ExchangeViews(store.open(dsn, schema))
        with psycopg.connect(dsn, autocommit=True) as connection:
            for table in STAGE_TABLES:
                granted = connection.execute(
                    "SELECT has_table_privilege(%s, %s, 'SELECT')",
                    (READER_ROLE, f'"{schema}".{table.sql_name}'),
                ).fetchone()
                assert granted == (True,), table.sql_name
    finally:
        store.close_all()
