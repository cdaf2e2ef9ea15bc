"""Clients appending to a node on the cluster, and what the node must hold afterwards.

`Appenders` submit and accept cases in a few threads without pause, keeping
what the node acknowledged (case number -> last version), how long each
call took, and every call that failed. `assert_log_exact` reads the node's
log and case streams beside it (read-only, no writer lease) and checks that
nothing is there twice, the log has no gap, and every logged event is in
its case stream and the other way round.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import grpc

from caseledger.ledger.cassandra.factory import CassandraApplicationRecorder, CassandraFactory
from caseledger.v1 import ledger_pb2, ledger_pb2_grpc
from tests.nodes import requests as rq

_RPC_TIMEOUT = 60.0
_EVERYTHING = 1_000_000


@dataclass(frozen=True)
class Call:
    started: float  # monotonic
    seconds: float
    code: grpc.StatusCode | None  # None: answered
    message: str = ""


class Appenders:
    """Threads that submit a case and accept it, again and again, until stopped."""

    def __init__(self, stub: ledger_pb2_grpc.LedgerServiceStub, threads: int = 3) -> None:
        self._stub = stub
        self.acknowledged: dict[str, int] = {}
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads = [threading.Thread(target=self._append) for _ in range(threads)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=_RPC_TIMEOUT * 2)

    def count(self) -> int:
        with self._lock:
            return sum(self.acknowledged.values())

    def failures(self) -> list[Call]:
        with self._lock:
            return [call for call in self.calls if call.code is not None]

    def longest_since(self, moment: float) -> Call:
        """The slowest call that was under way at or after `moment`."""
        with self._lock:
            late = [c for c in self.calls if c.started + c.seconds >= moment]
        return max(late, key=lambda call: call.seconds)

    def _call(self, request: ledger_pb2.SubmitRequest | ledger_pb2.AcceptRequest) -> str:
        started = time.monotonic()
        try:
            if isinstance(request, ledger_pb2.SubmitRequest):
                reply = self._stub.Submit(request, timeout=_RPC_TIMEOUT).result
            else:
                reply = self._stub.Accept(request, timeout=_RPC_TIMEOUT).result
        except grpc.RpcError as error:
            call = Call(started, time.monotonic() - started, error.code(), str(error.details()))
            with self._lock:
                self.calls.append(call)
            raise
        with self._lock:
            self.calls.append(Call(started, time.monotonic() - started, None))
            self.acknowledged[reply.case_number] = reply.version
        number: str = reply.case_number
        return number

    def _append(self) -> None:
        while not self._stopping.is_set():
            try:
                number = self._call(rq.submit())
                self._call(rq.accept(number))
            except grpc.RpcError:
                continue  # recorded; the next case starts afresh


def trail_lengths(stub: ledger_pb2_grpc.LedgerServiceStub, cases: Iterable[str]) -> dict[str, int]:
    """How many events the node holds for each case."""
    return {
        number: len(
            stub.ListCaseEvents(
                ledger_pb2.ListCaseEventsRequest(case=number), timeout=_RPC_TIMEOUT
            ).events
        )
        for number in cases
    }


def assert_log_exact(env: Mapping[str, str]) -> list[str]:
    """The node's log read beside it: gap-free, no (case, version) twice, the same
    events as its case streams. Returns the topics of the logged events."""
    factory = CassandraFactory(
        {**env, "PERSISTENCE_MODULE": "caseledger.ledger.cassandra", "CASSANDRA_READ_ONLY": "yes"}
    )
    try:
        recorder = factory.application_recorder()
        assert isinstance(recorder, CassandraApplicationRecorder)
        log = recorder.select_notifications(start=1, limit=_EVERYTHING)
        rows = factory.datastore.session.rows(
            f"SELECT originator_id, originator_version FROM {env['CASSANDRA_KEYSPACE']}."
            "stored_events"
        )
    finally:
        factory.close()
    ids = [n.id for n in log]
    assert ids == list(range(1, len(ids) + 1)), "the log has a gap"
    logged = [(str(n.originator_id), n.originator_version) for n in log]
    twice = [event for event, times in Counter(logged).items() if times > 1]
    assert not twice, f"logged twice: {twice[:5]}"
    streamed = {(str(r["originator_id"]), r["originator_version"]) for r in rows}
    assert set(logged) == streamed, "the log and the case streams differ"
    return [n.topic for n in log]


def submitted(topics: Iterable[str]) -> int:
    """How many cases were submitted, by the log's events."""
    return sum(1 for topic in topics if topic == "caseledger.case.Submitted")
