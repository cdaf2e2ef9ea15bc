"""One invocation's link to a node: where it is, who acts, and the command metadata.

The channel is opened on first use, so commands that never reach a node
(`node serve`, `--help`) open nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

import grpc

from caseledger.cli.connect import open_channel
from caseledger.v1 import ledger_pb2_grpc, types_pb2

Connect = Callable[[str], ledger_pb2_grpc.LedgerServiceStub]
"""Opens a stub on a node's address; tests pass one that needs no network."""


class Session:
    """The node address, the acting operator (操作人员) and the call timeout."""

    def __init__(
        self,
        address: str,
        operator: str,
        role: str,
        timeout: float,
        connect: Connect | None = None,
    ) -> None:
        self.address = address
        self.operator = operator
        self.role = role
        self.timeout = timeout
        self._connect = connect
        self._channel: grpc.Channel | None = None
        self._stub: ledger_pb2_grpc.LedgerServiceStub | None = None

    @property
    def ledger(self) -> ledger_pb2_grpc.LedgerServiceStub:
        if self._stub is None:
            if self._connect is not None:
                self._stub = self._connect(self.address)
            else:
                self._channel = open_channel(self.address)
                self._stub = ledger_pb2_grpc.LedgerServiceStub(self._channel)
        return self._stub

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        self._stub = None

    def meta(
        self,
        request_id: str | None = None,
        occurred_at: datetime | None = None,
        expected_version: int = 0,
    ) -> types_pb2.CommandMeta:
        """The metadata of one command; a fresh request id unless the operator retries one."""
        meta = types_pb2.CommandMeta(
            request_id=request_id or str(uuid.uuid4()),
            operator=types_pb2.Operator(id=self.operator, role=self.role),
            expected_version=expected_version,
        )
        if occurred_at is not None:
            meta.occurred_at.FromDatetime(occurred_at)
        return meta
