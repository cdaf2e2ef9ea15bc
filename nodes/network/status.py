"""`network status FILE`: every node of a network file at a glance (网络状态).

For each node: whether it answers its gRPC health service, what its health
says is wrong (a case in quarantine, a failing worker), and, where the
operator gives its metrics port, its replication lag per source (unknown
while a source is out of reach) and the cases it holds in quarantine. Then
every problem in progress, as `network up`'s health watch names them (an
unreachable broker or Cassandra store too). A table for a person, or
`--json` for machines; exit status 0 when nothing is wrong, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import urllib.request
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from caseledger.nodes.network.file import NetworkFileError, load_network
from caseledger.nodes.network.model import Network
from caseledger.nodes.network.supervisor import BAD_NETWORK_FILE
from caseledger.nodes.network.watch import HealthWatch, WatchedNode
from caseledger.nodes.trust.clients import CLIENT_CERT, CLIENT_KEY
from caseledger.nodes.trust.errors import TrustError
from caseledger.nodes.trust.provision import operator_folder
from caseledger.nodes.trust.transport import INSECURE, KeyPair, Transport

PROBLEMS = 1
_LAG = "caseledger_replication_lag_events"
_QUARANTINED = "caseledger_quarantined_cases"
_SCRAPE_TIMEOUT = 3.0


@dataclass(frozen=True)
class NodeState:
    """What one node shows from outside."""

    code: str
    name: str
    address: str
    answers: bool
    problems: list[str]
    lag: dict[str, float | None] | None
    """Events behind each source (None: unknown, the source out of reach);
    None when no metrics port was given for the node."""
    quarantined: int | None


@dataclass(frozen=True)
class NetworkState:
    network: str
    nodes: list[NodeState]
    problems: list[str]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="the network file")
    parser.add_argument(
        "--metrics",
        action="append",
        default=[],
        metavar="CODE=PORT",
        help="node CODE serves its Prometheus metrics on 127.0.0.1:PORT (repeatable)",
    )
    parser.add_argument(
        "--metrics-base-port",
        type=int,
        metavar="PORT",
        help="node i of the file serves its metrics on PORT+i, as `network up` starts them",
    )
    parser.add_argument(
        "--tls",
        type=Path,
        metavar="FOLDER",
        help="the operator's client certificate folder (client.key, client.crt, ca.crt); "
        "default: the one `network up` makes in the network's pki folder",
    )
    parser.add_argument("--json", action="store_true", help="print JSON for machines")


def run(args: argparse.Namespace) -> int:
    try:
        network = load_network(args.file)
        ports = _metrics_ports(network, args.metrics, args.metrics_base_port)
        transport = INSECURE if network.insecure else client_transport(network.pki, args.tls)
    except (NetworkFileError, ValueError, TrustError) as error:
        print(f"caseledger network status: {error}", file=sys.stderr)
        return BAD_NETWORK_FILE
    state = survey(network, transport, ports)
    if args.json:
        print(json.dumps(asdict(state), ensure_ascii=False, indent=2, default=_nan_free))
    else:
        print(render(state))
    return PROBLEMS if state.problems else 0


def client_transport(pki: Path, folder: Path | None) -> Transport:
    """The operator's client certificate: `folder`, else the one `network up` makes."""
    folder = folder if folder is not None else operator_folder(pki)
    return Transport(
        KeyPair.read(
            folder / CLIENT_KEY,
            folder / CLIENT_CERT,
            folder / "ca.crt",
            f"give the operator's client certificate folder with --tls (not found: {folder})",
        )
    )


def survey(network: Network, transport: Transport, ports: Mapping[str, int]) -> NetworkState:
    watched = [WatchedNode(n, str(n.address), ports.get(n.code)) for n in network.nodes]
    problems = HealthWatch(network, watched, transport, lambda _: None).problems()
    nodes = []
    for node in watched:
        code = node.spec.code
        mine = [text for key, text in problems.items() if key.split()[1:2] == [code]]
        metrics = _scrape(node.metrics_port) if node.metrics_port is not None else None
        nodes.append(
            NodeState(
                code=code,
                name=node.spec.name,
                address=node.address,
                answers=f"health {code}" not in problems,
                problems=mine,
                lag=None if metrics is None else _lags(metrics),
                quarantined=None if metrics is None else _quarantined(metrics),
            )
        )
    return NetworkState(network.name, nodes, sorted(problems.values()))


def render(state: NetworkState) -> str:
    rows = [("node", "name", "address", "answers", "lag per source", "quarantined")]
    for node in state.nodes:
        lag = (
            "-"
            if node.lag is None
            else ", ".join(
                f"{source}: {'unknown' if value is None else int(value)}"
                for source, value in sorted(node.lag.items())
            )
            or "none"
        )
        quarantined = "-" if node.quarantined is None else str(node.quarantined)
        answers = "yes" if node.answers else "NO"
        rows.append((node.code, node.name, node.address, answers, lag, quarantined))
    widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell + " " * (widths[i] - _width(cell)) for i, cell in enumerate(row)).rstrip()
        for row in rows
    ]
    lines.append("")
    if state.problems:
        lines.append(f"{len(state.problems)} problem(s) in progress:")
        lines.extend(f"  {problem}" for problem in state.problems)
    else:
        lines.append(f"network {state.network}: nothing wrong")
    return "\n".join(lines)


def _width(text: str) -> int:
    # Chinese names take two columns in a terminal.
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _metrics_ports(network: Network, given: list[str], base: int | None) -> dict[str, int]:
    ports = {n.code: base + i for i, n in enumerate(network.nodes)} if base is not None else {}
    for entry in given:
        code, equals, port = entry.partition("=")
        if not equals or not port.isdigit():
            raise ValueError(f"--metrics {entry!r}: write CODE=PORT")
        ports[network.node(code).code] = int(port)
    return ports


def _scrape(port: int) -> str | None:
    try:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/metrics", timeout=_SCRAPE_TIMEOUT
        ) as answer:
            text: str = answer.read().decode("utf-8")
    except OSError:
        return None
    return text


def _lags(metrics: str | None) -> dict[str, float | None] | None:
    if metrics is None:
        return None
    lags: dict[str, float | None] = {}
    for family in text_string_to_metric_families(metrics):
        if family.name == _LAG:
            for sample in family.samples:
                value = sample.value
                lags[sample.labels.get("source", "?")] = None if math.isnan(value) else value
    return lags


def _quarantined(metrics: str | None) -> int | None:
    if metrics is None:
        return None
    total = 0.0
    for family in text_string_to_metric_families(metrics):
        if family.name == _QUARANTINED:
            total += sum(sample.value for sample in family.samples)
    return int(total)


def _nan_free(value: object) -> object:
    return str(value)
