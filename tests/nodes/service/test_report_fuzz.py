"""The ReportService takes any bytes as a request and answers with a status, never
UNKNOWN or INTERNAL, and stays serving; the same generator as every other service
(`test_fuzz`), from well-formed reads."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from google.protobuf.descriptor import MethodDescriptor
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caseledger.nodes.config import NodeConfig
from caseledger.nodes.service.server import start
from caseledger.v1 import ledger_pb2_grpc, report_pb2, types_pb2
from tests.nodes import requests as rq
from tests.nodes.requests import Stage
from tests.nodes.service.test_fuzz import CALL_SECONDS, EXAMPLES, NEVER, call, request_bytes
from tests.pki import client_channel, secured
from tests.samples import LIXIA

SERVICE = report_pb2.DESCRIPTOR.services_by_name["ReportService"]
READS = [method for method in SERVICE.methods if method.name != "RebuildProjection"]
"""Every read (a rebuild is a command, tested on its own)."""
BASES = {
    "ListCases": report_pb2.ListCasesRequest(
        as_of="2026-03-20", division=LIXIA, status=types_pb2.CASE_STATUS_ACCEPTED, page_size=2
    ),
    "GetStatistics": report_pb2.GetStatisticsRequest(
        first_day="2026-03-01", last_day="2026-03-31", level=report_pb2.LEVEL_COUNTY, per_item=True
    ),
    "ListOverdue": report_pb2.ListOverdueRequest(as_of="2026-06-01", page_size=1),
    "ListRatings": report_pb2.ListRatingsRequest(first_day="2026-03-01", bad_only=True),
    "GetProjectionStatus": report_pb2.GetProjectionStatusRequest(),
    "StreamExchange": report_pb2.StreamExchangeRequest(
        after=1, division=LIXIA, table=report_pb2.STAGE_TABLE_PROCESS, page_size=2
    ),
}


@dataclass
class Served:
    channel: grpc.Channel

    def serving(self) -> bool:
        health = health_pb2_grpc.HealthStub(self.channel)
        reply = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=CALL_SECONDS)
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    path: Path = tmp_path_factory.mktemp("report-fuzz")
    node = start(secured(NodeConfig(code=LIXIA, data_dir=path, allow_client_time=True)))
    try:
        with client_channel(node.address) as channel:
            stub = ledger_pb2_grpc.LedgerServiceStub(channel)
            stub.PublishItem(rq.publish_item())
            for stage in (Stage.SUBMITTED, Stage.ACCEPTED, Stage.RATED_BADLY):
                rq.prepared(stub, stage)
            yield Served(channel)
    finally:
        node.stop(grace=0)


@pytest.mark.parametrize("method", READS, ids=lambda m: m.name)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_no_request_breaks_a_report(
    served: Served, method: MethodDescriptor, data: st.DataObject
) -> None:
    base = BASES[method.name].SerializeToString()
    request = data.draw(request_bytes(method, base), label="request")
    code, details = call(served.channel, method, request)
    assert code not in NEVER, f"{NEVER[code]}: {details}"
    assert served.serving()
