"""A process that appends to a Cassandra store until it is killed (crash tests).

    python -m tests.ledger.cassandra.appender [--die-in-window N]

The store comes from the environment (the persistence module's settings).
Events follow one fixed sequence: event j is version j % 4 + 1 of case
j // 4, and each append takes the next 1 to 3 of them, so after any crash
the store must hold exactly a prefix of the sequence. On start the process
claims the store (which repairs what a killed predecessor left), prints
`READY <last id>`, and goes on from there; after each append it prints
`ACK <first id> <count>`. With `--die-in-window N` it kills itself with
SIGKILL during its N-th append, after the log committed and before the
case sequences are written. SIGTERM closes the store and exits.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.persistence import StoredEvent

from caseledger.ledger.cassandra.factory import CassandraApplicationRecorder, CassandraFactory

VERSIONS_PER_CASE = 4


def case_id(j: int) -> UUID:
    return uuid5(NAMESPACE_URL, f"caseledger:crash-test:{j // VERSIONS_PER_CASE}")


def event(j: int) -> StoredEvent:
    return StoredEvent(case_id(j), j % VERSIONS_PER_CASE + 1, "crash", f'{{"j":{j}}}'.encode())


def batch_size(j: int) -> int:
    return 1 + j % 3


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--die-in-window", type=int, default=0)
    args = parser.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    factory = CassandraFactory(dict(os.environ))
    recorder = factory.application_recorder()
    assert isinstance(recorder, CassandraApplicationRecorder)
    appends = 0
    if args.die_in_window:
        real = recorder.datastore.session.write_all

        def write_all(groups: Any) -> None:
            if appends + 1 == args.die_in_window:
                os.kill(os.getpid(), signal.SIGKILL)
            real(groups)

        recorder.datastore.session.write_all = write_all  # type: ignore[method-assign,assignment]
    j = recorder.max_notification_id() or 0
    print(f"READY {j}", flush=True)
    while not stop.is_set():
        size = batch_size(j)
        ids = recorder.insert_events([event(j + k) for k in range(size)])
        assert ids == list(range(j + 1, j + size + 1)), ids
        appends += 1
        print(f"ACK {j + 1} {size}", flush=True)
        j += size
    factory.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
