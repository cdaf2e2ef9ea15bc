"""Benchmark P7: appends on the three-node Cassandra cluster beside the single node.

    python -m caseledger.nodes.bench.cluster_append [--single HOST:PORT]
        [--cluster HOST:PORT,...] [--seconds S]

Both stores are driven through the node's application recorder (the one
the ledger appends through), in the same run, with the same loads:
`insert_events` of 1, 10 and 100 events per call from one thread, the two
stores taking turns at each size so that the machine's other work weighs
on both alike. The single node keeps one replica (replication factor 1);
the cluster three (factor 3), written and read at LOCAL_QUORUM with the
lightweight transactions at LOCAL_SERIAL, as a node on a cluster runs.
Each row gives events per second and the median call, and the ratio
cluster / single.

Defaults: `--single` is `$CASELEDGER_CASSANDRA` or 127.0.0.1:9042,
`--cluster` is `$CASELEDGER_CASSANDRA_CLUSTER` or the three members of
`docker/services.py start cassandra-cluster`. Each store gets a keyspace of
its own, dropped at the end. A store that does not answer is one line on
stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager

from eventsourcing.persistence import ApplicationRecorder, PersistenceError

from caseledger.ledger.cassandra.factory import CassandraFactory
from caseledger.ledger.cassandra.session import SESSIONS
from caseledger.nodes.bench.stores import Row, _events, _row, _timed

SIZES = (1, 10, 100)
CLUSTER = "127.0.0.1:19042,127.0.0.2:19042,127.0.0.3:19042"


@contextmanager
def recorder(
    contact_points: str, replication_factor: int, keyspace: str
) -> Iterator[ApplicationRecorder]:
    """The application recorder of a fresh keyspace, dropped afterwards."""
    factory = CassandraFactory(
        {
            "PERSISTENCE_MODULE": "caseledger.ledger.cassandra",
            "CASSANDRA_CONTACT_POINTS": contact_points,
            "CASSANDRA_KEYSPACE": keyspace,
            "CASSANDRA_REPLICATION_FACTOR": str(replication_factor),
            "CASSANDRA_WRITE_CONSISTENCY": "LOCAL_QUORUM",
            "CASSANDRA_READ_CONSISTENCY": "LOCAL_QUORUM",
            "CASSANDRA_SERIAL_CONSISTENCY": "LOCAL_SERIAL",
        }
    )
    created = False
    try:
        opened = factory.application_recorder()
        created = True
        yield opened
    finally:
        factory.close()
        if created:
            session = SESSIONS.acquire(factory.settings)
            try:
                session.schema(f"DROP KEYSPACE IF EXISTS {keyspace}")
            finally:
                SESSIONS.release(session)


def measure(stores: dict[str, ApplicationRecorder], seconds: float) -> list[Row]:
    rows = []
    for size in SIZES:
        for name, store in stores.items():
            append = _appender(store, size)
            _timed(min(seconds, 0.5), append)  # warm up: prepared statements, the bucket
            latencies = _timed(seconds, append)
            rows.append(_row(name, f"append {size} event(s)/call", "events", latencies, size))
    return rows


def _appender(store: ApplicationRecorder, size: int) -> Callable[[], None]:
    def append() -> None:
        store.insert_events(_events(size))

    return append


def render(rows: Sequence[Row], single: str, cluster: str, seconds: float) -> str:
    by = {(r.store, r.figure): r for r in rows}
    lines = [
        f"P7: appends through the node's recorder, {seconds:g} s per figure, {os.cpu_count()} CPUs",
        f"  single  {single} (replication factor 1)",
        f"  cluster {cluster} (replication factor 3, LOCAL_QUORUM, LOCAL_SERIAL)",
        f"{'events/call':>11} {'single ev/s':>12} {'p50 ms':>7} {'cluster ev/s':>13} "
        f"{'p50 ms':>7} {'cluster/single':>15}",
    ]
    for size in SIZES:
        figure = f"append {size} event(s)/call"
        one, three = by[("single", figure)], by[("cluster", figure)]
        lines.append(
            f"{size:>11} {one.per_second:>12.0f} {one.p50_ms:>7.2f} {three.per_second:>13.0f} "
            f"{three.p50_ms:>7.2f} {three.per_second / one.per_second:>15.2f}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m caseledger.nodes.bench.cluster_append",
        description="P7: append rates on the three-node Cassandra cluster beside the single node",
    )
    parser.add_argument(
        "--single",
        default=os.environ.get("CASELEDGER_CASSANDRA", "127.0.0.1:9042"),
        help="the single node [$CASELEDGER_CASSANDRA or 127.0.0.1:9042]",
    )
    parser.add_argument(
        "--cluster",
        default=os.environ.get("CASELEDGER_CASSANDRA_CLUSTER", CLUSTER),
        help=f"the cluster's members [$CASELEDGER_CASSANDRA_CLUSTER or {CLUSTER}]",
    )
    parser.add_argument("--seconds", type=float, default=4.0, help="per figure [4]")
    args = parser.parse_args(argv)
    keyspace = f"caseledger_p7_{os.getpid()}"
    try:
        with ExitStack() as stack:
            stores = {
                "single": stack.enter_context(recorder(args.single, 1, f"{keyspace}_single")),
                "cluster": stack.enter_context(recorder(args.cluster, 3, f"{keyspace}_cluster")),
            }
            rows = measure(stores, args.seconds)
    except PersistenceError as error:
        cause = str(error).splitlines()[0] if str(error) else type(error).__name__
        print(f"cluster_append: a store does not answer: {cause}", file=sys.stderr)
        return 1
    print(render(rows, args.single, args.cluster, args.seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
