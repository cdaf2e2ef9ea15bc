"""`caseledger demo`: the Shandong demo network, one working day on it, and its audit.

Starts the six-node network of docs/domain.md (province, city, two
counties, two townships, each its own process) in a temporary folder, drives
a day of cases through it over gRPC (`stories`), waits until every node holds
the trails of its subtree, prints what each level sees and the audit replay
of the case that travelled from a township to its county and back, then
stops the network. Exit status 0 when every trail verified, 3 (as `audit
replay`) when one did not, 1 when the network or the day failed.

`--province-store cassandra` puts the province, the node that holds every
case of the province, on Cassandra: in a keyspace of this run's own, dropped
when the demo's folder is (kept with it otherwise). `--views postgres` puts
every node's views in PostgreSQL, in schemas of this run's own, dropped the
same way; with no server answering the demo stops before starting anything
(exit status 9). `--cluster` runs the day on clusters of three: the feed on
a three-broker Kafka cluster and the province on a three-node Cassandra
cluster, its topics and keyspace replicated three times (writes wait for two
copies), as a network that has outgrown one machine runs.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path

import click
from rich.cells import cell_len
from rich.console import Console

from caseledger.cli.audit.command import CHAIN_BROKEN
from caseledger.cli.connect import open_channel, read_token
from caseledger.cli.demo.catalogue import PROVINCE
from caseledger.cli.demo.day import Day, DayCase, DemoFailure, publish_catalogue
from caseledger.cli.demo.levels import (
    cases_table,
    holdings_of,
    level_tables,
    summary_table,
    wait_for_views,
)
from caseledger.cli.demo.network import (
    NetworkFailure,
    Service,
    cassandra_cluster,
    cassandra_node,
    drop_keyspaces,
    kafka_broker,
    kafka_cluster,
    postgres_server,
    start_network,
)
from caseledger.cli.demo.report import DemoNode, audit_across_nodes, verify_everything_at
from caseledger.cli.demo.stories import STORIES
from caseledger.cli.demo.views import (
    VIEWS_UNREACHABLE,
    ViewsUnreachable,
    check_reachable,
    drop_run_schemas,
)
from caseledger.cli.output import console
from caseledger.cli.params import BEIJING
from caseledger.cli.session import Session
from caseledger.v1 import ledger_pb2_grpc, report_pb2_grpc

DEMO_FAILED = 1
# Three copies of every record and row: one member may die and writes go on.
CLUSTER_REPLICAS = 3
REPLICATION_TIMEOUT = 90.0


@click.command()
@click.option(
    "--feed",
    type=click.Choice(["grpc", "kafka"]),
    default="grpc",
    show_default=True,
    help="How nodes replicate: their gRPC log streams, or a Kafka broker "
    "(CASELEDGER_KAFKA=HOST:PORT, else the checkout's docker/services.py starts one).",
)
@click.option(
    "--province-store",
    type=click.Choice(["sqlite", "cassandra"]),
    default="sqlite",
    show_default=True,
    help="The province's event store: a SQLite file, or Cassandra "
    "(CASELEDGER_CASSANDRA=HOST:PORT, else the checkout's docker/services.py starts one).",
)
@click.option(
    "--cluster",
    is_flag=True,
    help="Run on clusters of three: the feed on a Kafka cluster (CASELEDGER_KAFKA_CLUSTER) "
    "and the province on a Cassandra cluster (CASELEDGER_CASSANDRA_CLUSTER), else the "
    "checkout's docker/services.py starts them; topics and keyspace replicated 3 times. "
    "Implies --feed kafka --province-store cassandra.",
)
@click.option(
    "--views",
    type=click.Choice(["sqlite", "postgres"]),
    default="sqlite",
    show_default=True,
    help="Where every node keeps its views: a SQLite file of its own, or PostgreSQL "
    "(--views-dsn, else CASELEDGER_POSTGRES, else the checkout's docker/services.py starts one).",
)
@click.option(
    "--views-dsn",
    metavar="DSN",
    help="The PostgreSQL database of --views postgres, e.g. "
    "postgresql://caseledger@127.0.0.1:5432/caseledger.",
)
@click.option(
    "--data",
    type=click.Path(file_okay=False, path_type=Path),
    help="An empty or new folder for the stores, logs and network file (kept). "
    "Default: a temporary folder, removed afterwards.",
)
@click.option(
    "--base-port",
    type=click.IntRange(1, 65530),
    help="Nodes listen on BASE..BASE+5 instead of the demo network's 50110-50115.",
)
@click.option("--keep", is_flag=True, help="Keep the temporary folder and say where it is.")
@click.pass_obj
def demo(
    session: Session,
    *,
    feed: str,
    province_store: str,
    cluster: bool,
    views: str,
    views_dsn: str | None,
    data: Path | None,
    base_port: int | None,
    keep: bool,
) -> None:
    """Run the Shandong demo network through one working day (一网通办 demo).

    Province 山东省, city 济南市, districts 历下区 and 平阴县, streets/towns
    解放路街道 and 东阿镇, each node its own process. Prints per-level
    summaries and one case's audit replay across three nodes.
    """
    started = time.monotonic()
    if data is not None and data.exists() and any(data.iterdir()):
        raise click.BadParameter(f"{data} is not empty", param_hint="--data")
    if views_dsn is not None and views != "postgres":
        raise click.BadParameter("applies to --views postgres only", param_hint="--views-dsn")
    if cluster:
        feed, province_store = "kafka", "cassandra"
    folder = data or Path(tempfile.mkdtemp(prefix="caseledger-demo-"))
    out = console()
    services: list[Service] = []
    status = DEMO_FAILED
    # One name for the run's topics and keyspaces, so runs never meet.
    run = f"demo{uuid.uuid4().hex[:8]}"
    dsn = ""
    try:
        options, dsn = _servers(
            out,
            services,
            run,
            feed=feed,
            province_store=province_store,
            cluster=cluster,
            views=views,
            views_dsn=views_dsn,
        )
        if base_port is not None:
            options += ["--base-port", str(base_port)]
        network = start_network(folder, options)
        try:
            _announce(out, network.nodes, time.monotonic() - started)
            # `network up` made the run's PKI in the data folder: a CA, a certificate
            # per node and the operator's client certificate, used here.
            operator = folder / "stores" / "pki" / "operator"
            out.print(f"mutual TLS: the network's CA in {operator.parent}, client {operator}")
            token = read_token(str(operator / "token"))
            status = run_day(out, network.nodes, session.timeout, operator, token)
        finally:
            network.stop()
            out.print("network stopped")
    except ViewsUnreachable as failure:
        click.echo(f"demo failed: {failure}", err=True)
        status = VIEWS_UNREACHABLE
    except (NetworkFailure, DemoFailure) as failure:
        click.echo(f"demo failed: {failure}", err=True)
    finally:
        # A failed demo keeps its folder: the node logs say what went wrong.
        if data is None and not keep and status == 0:
            _drop_keyspaces(out, folder, province_store)
            _drop_views(out, dsn, run)
            shutil.rmtree(folder, ignore_errors=True)
        else:
            _say_kept(out, folder, province_store, dsn, run)
        for service in reversed(services):
            service.stop()
    out.print(f"demo finished in {time.monotonic() - started:.1f} s")
    if status != 0:
        raise click.exceptions.Exit(status)


def _servers(
    out: Console,
    services: list[Service],
    run: str,
    *,
    feed: str,
    province_store: str,
    cluster: bool,
    views: str,
    views_dsn: str | None,
) -> tuple[list[str], str]:
    """The servers the run uses (added to `services` when the demo starts them), as
    `network up` options, and the DSN of the views' database ('' for SQLite views)."""
    options: list[str] = []
    copies = ""
    if cluster:
        options += ["--replication-factor", str(CLUSTER_REPLICAS)]
        copies = f" ({CLUSTER_REPLICAS} copies, {CLUSTER_REPLICAS // 2 + 1} hold each write)"
    if feed == "kafka":
        services.append(broker := (kafka_cluster if cluster else kafka_broker)(out.print))
        options += ["--feed", "kafka", "--kafka", broker.address, "--topic-prefix", run]
        out.print(f"feed: Kafka at {broker.address}, topics {run}.*{copies}")
    if province_store == "cassandra":
        services.append(cassandra := (cassandra_cluster if cluster else cassandra_node)(out.print))
        options += ["--store", f"{PROVINCE}=cassandra", "--cassandra", cassandra.address]
        options += ["--keyspace-prefix", run]
        out.print(
            f"store: the province on Cassandra at {cassandra.address}, "
            f"keyspace {run}_caseledger_{PROVINCE}{copies}"
        )
    if views != "postgres":
        return options, ""
    if views_dsn is None:
        services.append(postgres := postgres_server(out.print))
        views_dsn = postgres.address
    check_reachable(views_dsn)
    options += ["--views-dsn", views_dsn, "--views-schema-prefix", run]
    out.print(f"views: PostgreSQL, schemas {run}_views_<code>")
    return options, views_dsn


def _say_kept(out: Console, folder: Path, province_store: str, dsn: str, run: str) -> None:
    again = f"caseledger network up {folder}/network.yaml --data {folder}"
    out.print(f"kept {folder} (node logs in {folder / 'logs'})")
    out.print(f"start its network again with: {again}")
    if province_store == "cassandra" and (folder / "network.yaml").exists():
        drop = f"caseledger network drop-keyspaces {folder}/network.yaml --yes"
        out.print(f"its Cassandra keyspace is kept too; drop it with: {drop}")
    if dsn:
        out.print(
            f"its views are kept too, in the schemas {run}_views_<code> and {run}_exchange_<code>"
        )


def _drop_views(out: Console, dsn: str, run: str) -> None:
    if not dsn:
        return
    try:
        dropped = drop_run_schemas(dsn, run)
    except Exception as problem:  # the run itself succeeded; say what was left
        out.print(
            f"[red]could not drop the run's schemas {run}_views_* and {run}_exchange_*: "
            f"{problem}[/red]"
        )
    else:
        out.print(f"dropped the run's {dropped} schemas (views and exchange)")


def _drop_keyspaces(out: Console, folder: Path, province_store: str) -> None:
    if province_store != "cassandra":
        return
    problem = drop_keyspaces(folder / "network.yaml")
    if problem is None:
        out.print("dropped the run's Cassandra keyspace")
    else:
        out.print(f"[red]could not drop the run's Cassandra keyspace: {problem}[/red]")


def _announce(out: Console, nodes: Sequence[DemoNode], seconds: float) -> None:
    out.print(f"[bold]Shandong demo network[/bold]: {len(nodes)} nodes up in {seconds:.1f} s")
    for node in nodes:
        out.print(
            f"  {_padded(node.level, 18)} {_padded(node.name, 10)} {node.code}  {node.address}"
        )


def _padded(text: str, width: int) -> str:
    """`text` filled to `width` terminal cells (a Chinese character takes two)."""
    return text + " " * max(0, width - cell_len(text))


def run_day(
    out: Console,
    nodes: Sequence[DemoNode],
    timeout: float,
    tls: Path | None = None,
    token: str | None = None,
) -> int:
    """Drive the day, wait for replication, report; the demo's exit status."""
    channels = [open_channel(node.address, tls, token) for node in nodes]
    try:
        stubs = {
            node.code: ledger_pb2_grpc.LedgerServiceStub(channel)
            for node, channel in zip(nodes, channels, strict=True)
        }
        reports = {
            node.code: report_pb2_grpc.ReportServiceStub(channel)
            for node, channel in zip(nodes, channels, strict=True)
        }
        day = Day(stubs, timeout)
        names = {node.code: node.name for node in nodes}
        publish_catalogue(day, [node.code for node in nodes])
        out.print(f"\n[bold]{day.today.isoformat()}[/bold]  {day.told[-1]}")
        for story in STORIES:
            before = set(day.cases)
            story(day)
            for number in day.cases.keys() - before:
                case = day.cases[number]
                where = " → ".join(names[owner] for owner in case.owners)
                out.print(f"  {_padded(where, 24)} {number}  {case.item}: {case.story}")
        _wait_for_replication(out, day, nodes)
        wait_for_views(reports, timeout, REPLICATION_TIMEOUT)
        return _report(out, day, nodes, reports)
    finally:
        for channel in channels:
            channel.close()


def _wait_for_replication(out: Console, day: Day, nodes: Sequence[DemoNode]) -> None:
    """Until every owner of each case, and every ancestor, holds its last version."""
    started = time.monotonic()
    copies = [(node, case) for case in day.cases.values() for node in nodes if node.holds(case)]
    for node, case in copies:
        day.wait_until(
            f"{node} holds case {case.number} at version {case.version}",
            partial(_holds, day, node, case),
            REPLICATION_TIMEOUT,
        )
    out.print(
        f"replicated: {len(copies)} copies of {len(day.cases)} cases, every node holding "
        f"its subtree's trails, {time.monotonic() - started:.1f} s after the last command"
    )


def _holds(day: Day, node: DemoNode, case: DayCase) -> bool:
    view = day.find(node.code, case.number)
    return view is not None and view.version >= case.version


def _report(
    out: Console,
    day: Day,
    nodes: Sequence[DemoNode],
    reports: Mapping[str, report_pb2_grpc.ReportServiceStub],
) -> int:
    """The nodes' own reports of the day, then the audit of the travelled case."""
    province = min(nodes, key=lambda node: len(node.prefix))
    held = holdings_of(reports, day.timeout)
    out.print()
    stories = {number: case.story for number, case in day.cases.items()}
    names = {node.code: node.name for node in nodes}
    out.print(cases_table(stories, names, held[province.code]))
    out.print(summary_table(nodes, held))
    # Every level of the province, from the first day a case of the day began.
    first = min(case.submitted_at.ToDatetime(BEIJING).date() for case in held[province.code])
    adds_up = level_tables(out, reports[province.code], first.isoformat(), day.timeout)
    travelled = next(case for case in day.cases.values() if len(case.owners) > 1)
    by_code = {node.code: node for node in nodes}
    township, county = by_code[travelled.owners[0]], by_code[travelled.owners[1]]
    verified = audit_across_nodes(out, day, travelled.number, [township, county, province])
    problems = verify_everything_at(day, province)
    if problems:
        for problem in problems:
            out.print(f"[red]✗ {problem}[/red]")
    else:
        out.print(f"✓ all {len(day.cases)} trails of the day verified at {province}")
    if not adds_up:
        return DEMO_FAILED
    return 0 if verified and not problems else CHAIN_BROKEN
