"""A network of real node processes whose links run through Toxiproxy.

A node listens on the address its network file gives it, and dials the
addresses the file gives the others. So each node runs from a network file of
its own, one that lists the node itself at its real port and every node it
reaches over a faulty link at that link's proxy: the township's county is the
proxy's listening port in the township's file, the county's township the
other proxy's in the county's. The nodes see one network, with the same codes,
names and certificates; only the addresses differ. Mutual TLS passes through
a TCP proxy unchanged, so each handshake still proves the node behind it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from caseledger.nodes.config import NodeConfig
from caseledger.nodes.network.file import load_network
from caseledger.v1 import ledger_pb2_grpc
from tests.faults.toxiproxy import Proxy, Toxiproxy
from tests.nodes.processes import NodeProcess, free_ports, write_network
from tests.pki import client_channel

TOWNSHIP = "370102001000"  # 解放路街道, where the clerks work
COUNTY = "370102000000"  # 历下区, above it
CITY = "370100000000"  # 济南市, above both

Link = tuple[str, str]
"""(the node that dials, the node it dials), by division code."""


@dataclass
class LinkedNetwork:
    """`nodes` (code -> name) in `folder`, with a proxy on each of `links`."""

    folder: Path
    nodes: Mapping[str, str]
    links: Iterable[Link] = ()
    toxiproxy: Toxiproxy | None = None
    feed: str = "grpc"
    kafka: Mapping[str, object] | None = None  # the network file's section, for the Kafka feed
    addresses: dict[str, str] = field(init=False)
    proxies: dict[Link, Proxy] = field(init=False)
    processes: dict[str, MeteredNode] = field(init=False)
    metrics_ports: dict[str, int] = field(init=False)
    _files: dict[str, Path] = field(init=False)

    def __post_init__(self) -> None:
        ports = dict(zip(self.nodes, free_ports(len(self.nodes)), strict=True))
        self.metrics_ports = dict(zip(self.nodes, free_ports(len(self.nodes)), strict=True))
        self.addresses = {code: f"127.0.0.1:{port}" for code, port in ports.items()}
        run = uuid.uuid4().hex[:8]
        self.proxies = {}
        for dialer, listener in self.links:
            assert self.toxiproxy is not None, "links run through a Toxiproxy"
            self.proxies[dialer, listener] = self.toxiproxy.create(
                f"caseledger-{run}-{dialer}-to-{listener}", upstream=self.addresses[listener]
            )
        self._files = {code: self._write_file_of(code, ports) for code in self.nodes}
        self.processes = {
            code: MeteredNode(path, code, self.folder / f"{code}.log", self.metrics_ports[code])
            for code, path in self._files.items()
        }

    def _write_file_of(self, viewer: str, ports: Mapping[str, int]) -> Path:
        seen = {
            code: (name, _port(self.proxies[viewer, code].listen))
            if (viewer, code) in self.proxies
            else (name, ports[code])
            for code, name in self.nodes.items()
        }
        return write_network(self.folder / viewer, seen, feed=self.feed, kafka=self.kafka)

    def proxy(self, dialer: str, listener: str) -> Proxy:
        return self.proxies[dialer, listener]

    def node(self, code: str) -> MeteredNode:
        return self.processes[code]

    def operator_file(self) -> Path:
        """The network as its operator lists it: every node at its own address."""
        seen = {code: (name, _port(self.addresses[code])) for code, name in self.nodes.items()}
        return write_network(self.folder / "operator", seen, feed=self.feed, kafka=self.kafka)

    def metrics(self, code: str) -> str:
        """Node `code`'s Prometheus metrics, as a scraper reads them."""
        url = f"http://127.0.0.1:{self.metrics_ports[code]}/metrics"
        with urllib.request.urlopen(url, timeout=10) as answer:
            text: str = answer.read().decode("utf-8")
        return text

    def config(self, code: str) -> NodeConfig:
        """Node `code`'s settings, as it reads them from its own file."""
        return load_network(self._files[code]).to_node_config(code)

    def stub(self, code: str) -> ledger_pb2_grpc.LedgerServiceStub:
        """An operator's client at the node itself, on no faulty link."""
        return ledger_pb2_grpc.LedgerServiceStub(client_channel(self.addresses[code]))

    def start(self) -> None:
        for process in self.processes.values():
            process.start()

    def close(self) -> None:
        """Kill every node and remove every proxy, whatever the test did."""
        for process in self.processes.values():
            process.kill()
        for proxy in self.proxies.values():
            proxy.delete()


@dataclass
class MeteredNode(NodeProcess):
    """A node process that serves its Prometheus metrics on `metrics_port`, as an
    operator runs one (`--metrics-port`)."""

    metrics_port: int = 0

    def start(self, failpoint: str = "") -> None:
        env = {k: v for k, v in os.environ.items() if k != "CASELEDGER_FAILPOINT"}
        if failpoint:
            env["CASELEDGER_FAILPOINT"] = failpoint
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "caseledger.nodes", "serve", "--network", str(self.network),
                 "--code", self.code, "--allow-client-time",
                 "--metrics-port", str(self.metrics_port)],
                stdout=subprocess.PIPE, stderr=log, text=True, env=env,
            )  # fmt: skip
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("LISTENING"):
            self.process.kill()
            raise AssertionError(f"node {self.code} did not start: {self.log.read_text()[-2000:]}")


def _port(address: str) -> int:
    return int(address.rsplit(":", 1)[1])
