"""A node follows many sources' log streams from a fixed number of threads.

The sources are simulated townships (`caseledger.nodes.bench.province_sources`):
real, hash-chained logs made by the ledger, each served on a port of its own
by one asyncio loop of the test, so the receiving node verifies and stores
every event as it would a real township's. The feed's threads are counted
around its start: they do not grow with the number of sources.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from caseledger.nodes.bench.province_logs import township_log
from caseledger.nodes.bench.province_shape import PROVINCE, sources
from caseledger.nodes.bench.province_sources import Townships
from caseledger.nodes.replication.grpc_feed import LogStreamFeed, Source
from caseledger.nodes.service.server import RunningNode, start
from caseledger.nodes.trust.transport import INSECURE
from tests.nodes.replication.feeds import wait_for
from tests.nodes.stores import node_config

SOURCES = 200
EVENTS = 4  # per source: the catalogue item, a submission (two events), its acceptance
FEED_THREADS = 2  # the loop that follows every stream, and the one writer to the store


@pytest.fixture
def served() -> Iterator[dict[str, str]]:
    """SOURCES townships served from a loop of this test; their addresses by code."""
    logs = {code: township_log(code, EVENTS) for code in sources(SOURCES)}
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="townships", daemon=True)
    thread.start()

    async def serve() -> tuple[Townships, dict[str, str]]:
        townships = Townships(logs, batch=10)
        townships.released.set()
        return townships, await townships.serve()

    townships, addresses = asyncio.run_coroutine_threadsafe(serve(), loop).result(60)
    try:
        yield addresses
    finally:
        asyncio.run_coroutine_threadsafe(townships.stop(), loop).result(60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@pytest.fixture
def province(tmp_path: Path) -> Iterator[RunningNode]:
    node = start(node_config(PROVINCE, tmp_path / "province", "sqlite"))
    try:
        yield node
    finally:
        node.stop(grace=0)


def test_a_node_following_200_sources_runs_a_fixed_number_of_threads_and_stores_every_event(
    served: dict[str, str], province: RunningNode
) -> None:
    before = set(threading.enumerate())
    feed = LogStreamFeed(
        [Source(code, address) for code, address in served.items()], province.intake, INSECURE
    )
    feed.start()
    try:
        wait_for(
            lambda: all(province.intake.position(code) == EVENTS for code in served),
            f"every event of {SOURCES} sources stored",
            timeout=120,
        )
        following = set(threading.enumerate()) - before
        assert len(following) <= FEED_THREADS, sorted(t.name for t in following)
        stored = province.intake.received.recorder.max_notification_id()
        assert stored == SOURCES * EVENTS
    finally:
        feed.stop()
    assert not set(threading.enumerate()) - before
