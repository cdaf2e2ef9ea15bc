"""Simulated townships for the province harness (P6): many sources, one process.

A township here is only what the province sees of it: its log, served as a
real node serves it (`LogService.StreamLog`: the records after the asked
position in batches, the source's head with each, a batch of no records once
caught up, then the open stream), or published to its Kafka topic as a
node's publisher does (keyed by case, the record's bytes as the value). The
logs are made by the ledger (`province_logs`), so the province verifies
every event as it would a real township's.

One asyncio loop serves every township of the process, each on a port of
its own (a server per township: a caller is told apart by the address it
dialled, as the province tells its sources apart), in plaintext: the harness
measures the province's ingest, not TLS, and says so.

Run as a process, it reads one JSON line from stdin (`codes`, `events` per
township, `batch` records per stream message, `ports` by code or none,
`kafka`: null or `{"bootstrap", "prefix"}`), makes the logs, and answers on stdout:
`{"addresses": {code: address}}` once it serves them; `connected` once
every township has a stream waiting (gRPC; at once for Kafka). The line
`release` on stdin then sends every log (streams, or topics); the line
`stop` or the end of stdin ends the process.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import grpc

from caseledger.nodes.bench.province_logs import township_log
from caseledger.v1 import log_pb2, log_pb2_grpc


class TownshipLog(log_pb2_grpc.LogServiceServicer):
    """One township's log stream, held back until `released` is set."""

    def __init__(
        self,
        records: Sequence[log_pb2.LogRecord],
        batch: int,
        released: asyncio.Event,
        connected: Callable[[], None],
    ) -> None:
        self._records = records
        self._batch = batch
        self._released = released
        self._connected = connected

    async def StreamLog(  # noqa: N802 (the gRPC method's name)
        self, request: log_pb2.StreamLogRequest, context: Any
    ) -> AsyncIterator[log_pb2.LogBatch]:
        self._connected()
        await self._released.wait()
        head = len(self._records)
        # Positions are 1..head, in order.
        rest = list(self._records[request.after :])
        if request.limit:
            rest = rest[: request.limit]
        for start in range(0, len(rest), self._batch):
            yield log_pb2.LogBatch(records=rest[start : start + self._batch], head=head)
        if request.follow:
            yield log_pb2.LogBatch(head=head)
            await asyncio.Event().wait()  # open until the caller leaves


class Townships:
    """Every township of this process, served from the running loop."""

    def __init__(self, logs: dict[str, list[log_pb2.LogRecord]], batch: int) -> None:
        self.logs = logs
        self._batch = batch
        self.released = asyncio.Event()
        self.all_connected = asyncio.Event()
        self._waiting: set[str] = set(logs)
        self._servers: list[grpc.aio.Server] = []

    def _connected_of(self, code: str) -> Callable[[], None]:
        def connected() -> None:
            self._waiting.discard(code)
            if not self._waiting:
                self.all_connected.set()

        return connected

    async def serve(self, ports: dict[str, int] | None = None) -> dict[str, str]:
        """Start a server per township, on its port of `ports` (default: any
        free one); their addresses, by code."""
        addresses = {}
        for code, records in self.logs.items():
            server = grpc.aio.server()
            log_pb2_grpc.add_LogServiceServicer_to_server(
                TownshipLog(records, self._batch, self.released, self._connected_of(code)),
                server,
            )
            port = server.add_insecure_port(f"127.0.0.1:{(ports or {}).get(code, 0)}")
            await server.start()
            self._servers.append(server)
            addresses[code] = f"127.0.0.1:{port}"
        return addresses

    async def stop(self) -> None:
        await asyncio.gather(*(server.stop(0) for server in self._servers))


class Publisher:
    """Sends every township's log to its authored topic, as its publisher would;
    opened before the release, so the release sends and nothing else."""

    def __init__(self, bootstrap: str, prefix: str) -> None:
        from caseledger.nodes.replication.kafka_client import BrokerSettings, TopicProducer
        from caseledger.nodes.replication.topics import TopicLayout

        self._layout = TopicLayout(prefix)
        settings = BrokerSettings((bootstrap,), client_id="caseledger-province-bench")
        self._producer = TopicProducer(settings)
        self._producer.open()

    def publish(self, logs: dict[str, list[log_pb2.LogRecord]]) -> int:
        return self._producer.send_all(
            (self._layout.authored(code), record.originator_id.encode(), value)
            for code, records in logs.items()
            for record, value in ((r, r.SerializeToString()) for r in records)
        )

    def close(self) -> None:
        self._producer.close()


async def _lines() -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        yield line.strip()


def _say(message: object) -> None:
    print(message if isinstance(message, str) else json.dumps(message), flush=True)


async def _run(job: dict[str, Any]) -> None:
    logs = {code: township_log(code, int(job["events"])) for code in job["codes"]}
    townships = Townships(logs, int(job.get("batch", 10)))
    kafka = job.get("kafka")
    publisher = Publisher(kafka["bootstrap"], kafka["prefix"]) if kafka else None
    _say({"addresses": {} if kafka else await townships.serve(job.get("ports"))})
    if publisher is None:
        await townships.all_connected.wait()
    _say("connected")
    async for line in _lines():
        if line == "release":
            if publisher is not None:
                await asyncio.to_thread(publisher.publish, logs)
            townships.released.set()
        elif line == "stop":
            break
    await townships.stop()
    if publisher is not None:
        publisher.close()


def main() -> int:
    job = json.loads(sys.stdin.readline())
    asyncio.run(_run(job))
    return 0


if __name__ == "__main__":
    sys.exit(main())
