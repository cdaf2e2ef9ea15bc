"""Window clerks (窗口人员) at one node: each submits a case and accepts it (受理),
again and again, and keeps what the node acknowledged.

A clerk stops when told, or at the first call the node does not answer (it
was killed, say); what was acknowledged before stays recorded, and the call
that failed is kept, so a test can say whether any call should have failed.
"""

from __future__ import annotations

import threading

import grpc

from caseledger.v1 import ledger_pb2_grpc, types_pb2
from tests.nodes import requests as rq
from tests.pki import client_channel
from tests.timing import scaled, wait_for

CALL_TIMEOUT = 10.0
"""What a clerk's terminal waits for one answer before giving up on it."""


class Clerks:
    """`count` clerks at the node at `address`, each pausing `pause` seconds
    between two cases (0: as fast as the node answers)."""

    def __init__(self, address: str, count: int = 3, pause: float = 0.0) -> None:
        self._channel = client_channel(address)
        self._stub = ledger_pb2_grpc.LedgerServiceStub(self._channel)
        self._pause = pause
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.acknowledged: dict[str, int] = {}  # case number -> last acknowledged version
        self.failures: list[grpc.RpcError] = []
        self._threads = [threading.Thread(target=self._serve) for _ in range(count)]
        for thread in self._threads:
            thread.start()

    def appends(self) -> int:
        with self._lock:
            return sum(self.acknowledged.values())

    def cases(self) -> int:
        with self._lock:
            return len(self.acknowledged)

    def so_far(self) -> dict[str, int]:
        """What the node has acknowledged until now, case number -> version."""
        with self._lock:
            return dict(self.acknowledged)

    def wait_for_more(self, appends: int, what: str, timeout: float = 60.0) -> None:
        """Wait until `appends` more appends are acknowledged."""
        target = self.appends() + appends
        wait_for(lambda: self.appends() >= target, what, timeout=timeout)

    def stop(self) -> dict[str, int]:
        """Stop serving; what the node acknowledged, case number -> version."""
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=scaled(60))
        self._channel.close()
        with self._lock:
            return dict(self.acknowledged)

    def _acknowledge(self, reply: types_pb2.CommandResult) -> None:
        with self._lock:
            self.acknowledged[reply.case_number] = reply.version

    def _serve(self) -> None:
        try:
            while not self._stopping.is_set():
                submitted = self._stub.Submit(rq.submit(), timeout=scaled(CALL_TIMEOUT)).result
                self._acknowledge(submitted)
                accepted = self._stub.Accept(
                    rq.accept(submitted.case_number), timeout=scaled(CALL_TIMEOUT)
                ).result
                self._acknowledge(accepted)
                self._stopping.wait(self._pause)
        except grpc.RpcError as failure:
            with self._lock:
                self.failures.append(failure)
