"""ReportService.StreamExchange: pages of the stage tables, and its refusals
(INVALID_ARGUMENT naming the field, PERMISSION_DENIED outside the subtree)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import structlog
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from caseledger.nodes.config import NodeConfig
from caseledger.nodes.service.report_convert import exchange_responses
from caseledger.nodes.service.server import RunningNode, start
from caseledger.projections.exchange import Change
from caseledger.projections.exchange.pull import Page
from caseledger.projections.exchange.tables import PROCESS
from caseledger.v1 import ledger_pb2, ledger_pb2_grpc, report_pb2, report_pb2_grpc
from tests.nodes import requests as rq
from tests.pki import client_channel, secured
from tests.samples import LIXIA
from tests.timing import wait_for


@pytest.fixture
def node(tmp_path: Path) -> Iterator[RunningNode]:
    """Lixia with three cases submitted and the exchange caught up."""
    with structlog.testing.capture_logs():
        running = start(
            secured(NodeConfig(code=LIXIA, data_dir=tmp_path / "node", allow_client_time=True))
        )
        try:
            with client_channel(running.address) as channel:
                stub = ledger_pb2_grpc.LedgerServiceStub(channel)
                stub.PublishItem(
                    ledger_pb2.PublishItemRequest(terms=rq.item_terms(), meta=rq.publisher())
                )
                for _ in range(3):
                    stub.Submit(rq.submit())
            exchange = running.exchange
            assert exchange is not None
            wait_for(lambda: exchange.lag() == 0, "the exchange caught up")
            yield running
        finally:
            running.stop(grace=0)


def _pull(node: RunningNode, **fields: object) -> list[report_pb2.StreamExchangeResponse]:
    with client_channel(node.address) as channel:
        stub = report_pb2_grpc.ReportServiceStub(channel)
        return list(stub.StreamExchange(report_pb2.StreamExchangeRequest(**fields)))  # type: ignore[arg-type]


def _refusal(node: RunningNode, **fields: object) -> tuple[grpc.StatusCode, dict[str, str]]:
    with pytest.raises(grpc.RpcError) as caught:
        _pull(node, **fields)
    error = caught.value
    assert isinstance(error, grpc.Call)
    status = rpc_status.from_call(error)
    assert status is not None
    violations: dict[str, str] = {}
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            violations |= {v.field: v.description for v in bad.field_violations}
    return error.code(), violations


def test_pages_carry_the_columns_once_per_table_and_every_row(node: RunningNode) -> None:
    whole = _pull(node)
    assert [(r.table, len(r.rows)) for r in whole] == [
        ("acceptance", 0), ("process", 3), ("special", 0), ("result", 0), ("material", 3),
    ]  # fmt: skip
    paged = _pull(node, table=report_pb2.STAGE_TABLE_PROCESS, page_size=1)
    # One row a page, and the page after the last full one is empty.
    assert [(r.table, len(r.rows)) for r in paged] == [("process", 1)] * 3 + [("process", 0)]
    assert [bool(r.columns) for r in paged] == [True, False, False, False]
    assert [row for r in paged for row in r.rows] == list(whole[1].rows)
    assert {r.resume_from for r in whole + paged} == {whole[0].resume_from}
    assert whole[0].columns[0].name == "case_id"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"after": -1}, "after"),
        ({"after": 10**9}, "after"),
        ({"table": 9}, "table"),
        ({"page_size": 1001}, "page_size"),
        ({"page_size": -3}, "page_size"),
        ({"division": "37"}, "division"),
    ],
)
def test_bad_input_is_invalid_argument_naming_the_field(
    node: RunningNode, fields: dict[str, object], field: str
) -> None:
    code, violations = _refusal(node, **fields)
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert list(violations) == [field]


def test_a_division_outside_the_subtree_is_permission_denied(node: RunningNode) -> None:
    code, _ = _refusal(node, division=rq.JINAN)
    assert code is grpc.StatusCode.PERMISSION_DENIED


def test_a_restarted_node_resumes_its_exchange_without_writing_a_row_again(
    tmp_path: Path,
) -> None:
    config = secured(NodeConfig(code=LIXIA, data_dir=tmp_path / "node", allow_client_time=True))

    def run(submissions: int, publish: bool) -> list[report_pb2.StreamExchangeResponse]:
        with structlog.testing.capture_logs():
            running = start(config)
            try:
                with client_channel(running.address) as channel:
                    stub = ledger_pb2_grpc.LedgerServiceStub(channel)
                    if publish:
                        stub.PublishItem(
                            ledger_pb2.PublishItemRequest(
                                terms=rq.item_terms(), meta=rq.publisher()
                            )
                        )
                    for _ in range(submissions):
                        stub.Submit(rq.submit())
                exchange = running.exchange
                assert exchange is not None
                wait_for(lambda: exchange.lag() == 0, "the exchange caught up")
                return _pull(running, table=report_pb2.STAGE_TABLE_PROCESS)
            finally:
                running.stop(grace=0)

    before = run(2, publish=True)
    position = before[0].resume_from
    after = run(1, publish=False)
    rows_before = [row for r in before for row in r.rows]
    rows_after = [row for r in after for row in r.rows]
    # The two rows written before the restart are as they were (same batch), and
    # the one submission since is the only row past the position.
    assert rows_after[:2] == rows_before
    assert [(row.batch > position, row.operation) for row in rows_after] == [
        (False, "I"), (False, "I"), (True, "I"),
    ]  # fmt: skip
    assert after[0].resume_from > position


def test_projection_status_says_where_the_exchange_stands_in_each_log(node: RunningNode) -> None:
    with client_channel(node.address) as channel:
        status = report_pb2_grpc.ReportServiceStub(channel).GetProjectionStatus(
            report_pb2.GetProjectionStatusRequest()
        )
    head = node.ledger.recorder.max_notification_id()
    exchange = {p.upstream: p for p in status.exchange}
    assert set(exchange) == {"authored", "received"}
    assert {p.view for p in status.exchange} == {"exchange"}
    assert (exchange["authored"].position, exchange["authored"].head) == (head, head)
    assert exchange["authored"].lag == 0


def test_a_page_of_long_rows_is_split_into_responses_under_the_byte_bound() -> None:
    # Each row some 1.9 kB (twelve texts of 50 three-byte characters).
    rows = [
        Change("process", 7, "I", {c.name: "意" * 50 for c in PROCESS.columns} | {"seq": n})
        for n in range(1, 9)
    ]
    bound = 4000
    responses = exchange_responses(Page(PROCESS, True, rows), 9, max_bytes=bound)
    assert len(responses) > 1
    assert all(r.ByteSize() <= bound for r in responses)
    # Full: the next response's first row would not have fitted in the one before.
    for before, after in itertools.pairwise(responses):
        assert before.ByteSize() + after.rows[0].ByteSize() > bound
    assert [bool(r.columns) for r in responses] == [True] + [False] * (len(responses) - 1)
    assert [row.values[1] for r in responses for row in r.rows] == [str(n) for n in range(1, 9)]
    assert {(r.table, r.resume_from) for r in responses} == {("process", 9)}
