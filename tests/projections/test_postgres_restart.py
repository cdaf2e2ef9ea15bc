"""PostgreSQL views survive their server's restart in the middle of a run.

A PostgreSQL server of the test's own (`docker/services.py` on a free port
and a folder of its own, so the shared one is never stopped) holds the
views. Batches are projected, the server stops, a batch is delivered while
it is down and waits, the server starts again, and the same views object
goes on: the waiting batch lands once, every batch is then redelivered, and
every row is still the fold of its whole trail, with each case submitted
once in the figures. (A batch cut off in the middle writes nothing: the
conformance suite's crash test, on both stores.)
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from caseledger.ledger.timelimits.calendar import WorkingCalendar
from caseledger.projections.projection import AUTHORED, RECEIVED
from caseledger.projections.reports import Reports
from caseledger.projections.statistics import Period
from caseledger.projections.store import CaseViews
from tests.projections.histories import PROVINCE, START, case_mapper, simulate
from tests.projections.stores import NodeStores, expected_rows, view_rows
from tests.services.test_services_script import free_ports

pytestmark = pytest.mark.postgres

SCRIPT = Path(__file__).resolve().parents[2] / "docker" / "services.py"
NETWORK = [PROVINCE, "370100000000", "370102000000", "370102001000"]
LOGS = (AUTHORED, RECEIVED)


@dataclass(frozen=True)
class Server:
    run_dir: Path
    port: int

    @property
    def dsn(self) -> str:
        return f"postgresql://caseledger@127.0.0.1:{self.port}/caseledger"

    def run(self, command: str) -> None:
        done = subprocess.run(
            [sys.executable, str(SCRIPT), command, "postgres",
             "--run-dir", str(self.run_dir), "--port", str(self.port)],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
def server() -> Iterator[Server]:
    folder = Path(tempfile.mkdtemp(prefix="caseledger-postgres-"))
    (port,) = free_ports(1)
    started = Server(folder / "run", port)
    started.run("start")
    yield started
    started.run("stop")
    started.run("reset")
    shutil.rmtree(folder, ignore_errors=True)


def test_the_views_go_on_after_a_server_restart_and_count_nothing_twice(server: Server) -> None:
    events = simulate(random.Random(23), NETWORK, 12, START)
    stores = NodeStores(PROVINCE, events, case_mapper())
    stores.commit_all()
    views = CaseViews.open(server.dsn, "views_370000000000")
    projection = stores.projection(views)
    try:
        for log in LOGS:
            stores.deliver(projection, log, 5)
        before = views.all_rows()
        positions = {log: views.position(log) for log in LOGS}
        assert all(positions.values())

        server.run("stop")
        failures: list[BaseException] = []

        def deliver() -> None:
            try:
                stores.deliver(projection, RECEIVED, 5)
            except BaseException as error:  # reported by the assertion below
                failures.append(error)

        waiting = threading.Thread(target=deliver)
        waiting.start()
        time.sleep(1.0)
        assert waiting.is_alive(), failures
        server.run("start")
        waiting.join(timeout=120)
        assert not waiting.is_alive()
        assert failures == []
        assert views.position(RECEIVED) > positions[RECEIVED]
        assert len(views.all_rows()) >= len(before)
        for log in LOGS:
            while stores.undelivered(log, 1):
                stores.deliver(projection, log, 4)
        # Every notification again, as a follower that lost its place would send them.
        for log in LOGS:
            everything = list(stores.recorder(log).select_notifications(1, 100_000))
            assert projection.process(log, everything) == 0

        assert view_rows(views) == expected_rows(events)
        period = Period(START.date(), START.date() + timedelta(days=120))
        (province,) = Reports(views, PROVINCE, WorkingCalendar()).stats(period, period.last)
        assert province.figures.submitted == len({e.originator_id for e in events})
    finally:
        views.close()
