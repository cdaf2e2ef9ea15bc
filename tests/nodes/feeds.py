"""Harnesses that run a source node and a receiving node over one feed adapter.

The conformance suite is written against `FeedHarness`; each adapter supplies
one. The nodes are real (gRPC servers on port 0, SQLite stores on disk).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import grpc

from caseledger.nodes.config import NodeConfig
from caseledger.nodes.feed_grpc import Source
from caseledger.nodes.server import RunningNode, start
from caseledger.v1 import ledger_pb2_grpc

TOWNSHIP = "370102001000"  # 解放路街道, the source
COUNTY = "370102000000"  # 历下区, the receiver


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Poll until `condition` holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class FeedHarness(Protocol):
    source: RunningNode
    receiver: RunningNode

    @property
    def source_key(self) -> str: ...

    def start_source(self) -> None: ...

    def stop_source(self) -> None: ...

    def start_receiver(self) -> None: ...

    def stop_receiver(self) -> None: ...

    def close(self) -> None: ...


@dataclass
class GrpcHarness:
    """The receiver pulls the source's log stream."""

    folder: Path
    source: RunningNode = field(init=False)
    receiver: RunningNode = field(init=False)
    _source_port: int = 0

    def __post_init__(self) -> None:
        self.start_source()
        self.start_receiver()

    @property
    def source_key(self) -> str:
        return TOWNSHIP

    def start_source(self) -> None:
        listen = f"127.0.0.1:{self._source_port}"
        config = NodeConfig(
            code=TOWNSHIP, listen=listen, data_dir=self.folder / "township", allow_client_time=True
        )
        self.source = start(config)
        self._source_port = self.source.port

    def stop_source(self) -> None:
        self.source.stop(grace=0)

    def start_receiver(self) -> None:
        config = NodeConfig(code=COUNTY, data_dir=self.folder / "county", allow_client_time=True)
        self.receiver = start(config, [Source(TOWNSHIP, self.source.address)])

    def stop_receiver(self) -> None:
        self.receiver.stop(grace=0)

    def close(self) -> None:
        self.stop_receiver()
        self.stop_source()


def ledger_stub(node: RunningNode) -> tuple[grpc.Channel, ledger_pb2_grpc.LedgerServiceStub]:
    channel = grpc.insecure_channel(node.address)
    return channel, ledger_pb2_grpc.LedgerServiceStub(channel)
