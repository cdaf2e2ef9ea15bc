"""The ReportService of a running node: its views follow the node's logs (its own
appends and the cases handed to it), a stopped follower shows in health, reads
answer for the node's subtree only, and pages cover every case once."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status

from caseledger.nodes.config import NodeConfig
from caseledger.nodes.service.server import RunningNode, start
from caseledger.nodes.service.views import PROJECTIONS_HEALTH
from caseledger.v1 import ledger_pb2, ledger_pb2_grpc, report_pb2, report_pb2_grpc, types_pb2
from tests.nodes import requests as rq
from tests.pki import client_channel, secured
from tests.samples import LIXIA
from tests.timing import wait_for

TOWNSHIP = "370102001000"  # 解放路街道, under Lixia
SIBLING = "370103000000"  # 市中区, Lixia's neighbour


@dataclass
class Served:
    node: RunningNode
    ledger: ledger_pb2_grpc.LedgerServiceStub
    reports: report_pb2_grpc.ReportServiceStub
    health: health_pb2_grpc.HealthStub

    def cases(self, **fields: object) -> list[report_pb2.ReportedCase]:
        return list(self.reports.ListCases(report_pb2.ListCasesRequest(**fields)).cases)  # type: ignore[arg-type]

    def projections_health(self) -> int:
        reply = self.health.Check(health_pb2.HealthCheckRequest(service=PROJECTIONS_HEALTH))
        return int(reply.status)

    def caught_up(self) -> bool:
        status = self.reports.GetProjectionStatus(report_pb2.GetProjectionStatusRequest())
        return all(p.lag == 0 for p in status.positions)


def serve(node: RunningNode) -> Iterator[Served]:
    with client_channel(node.address) as channel:
        served = Served(
            node,
            ledger_pb2_grpc.LedgerServiceStub(channel),
            report_pb2_grpc.ReportServiceStub(channel),
            health_pb2_grpc.HealthStub(channel),
        )
        served.ledger.PublishItem(
            ledger_pb2.PublishItemRequest(terms=rq.item_terms(), meta=rq.publisher())
        )
        yield served


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    node = start(secured(NodeConfig(code=LIXIA, data_dir=tmp_path, allow_client_time=True)))
    try:
        yield from serve(node)
    finally:
        node.stop(grace=0)


def error_info(error: grpc.RpcError) -> error_details_pb2.ErrorInfo:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info
    raise AssertionError("no ErrorInfo")


def test_the_views_catch_up_with_the_nodes_appends(served: Served) -> None:
    numbers = [served.ledger.Submit(rq.submit()).result.case_number for _ in range(3)]
    served.ledger.Accept(ledger_pb2.AcceptRequest(meta=rq.meta(), case=numbers[0], notice_no="受1"))
    wait_for(served.caught_up, "the views caught up")
    cases = {case.case_number: case for case in served.cases()}
    assert sorted(cases) == sorted(numbers)
    assert cases[numbers[0]].status == types_pb2.CASE_STATUS_ACCEPTED
    assert cases[numbers[0]].version == 2
    assert cases[numbers[0]].deadline.status != types_pb2.DEADLINE_STATUS_NOT_STARTED
    assert {cases[n].status for n in numbers[1:]} == {types_pb2.CASE_STATUS_SUBMITTED}
    accepted = served.cases(status=types_pb2.CASE_STATUS_ACCEPTED)
    assert [case.case_number for case in accepted] == [numbers[0]]
    assert served.node.views is not None
    assert (served.node.config.data_dir / f"{LIXIA}.views.sqlite").is_file()


def test_projection_status_names_each_upstream_with_its_position_and_head(
    served: Served,
) -> None:
    served.ledger.Submit(rq.submit())
    wait_for(served.caught_up, "the views caught up")
    status = served.reports.GetProjectionStatus(report_pb2.GetProjectionStatusRequest())
    assert status.following
    positions = {p.upstream: p for p in status.positions}
    assert set(positions) == {"authored", "received"}
    head = served.node.ledger.recorder.max_notification_id()
    assert (positions["authored"].position, positions["authored"].head) == (head, head)
    lag = served.node.metrics.registry.get_sample_value(
        "caseledger_projection_lag_events", {"view": "cases", "upstream": "authored"}
    )
    assert lag == 0


def test_the_report_service_is_in_health_and_reflection(served: Served) -> None:
    name = report_pb2.DESCRIPTOR.services_by_name["ReportService"].full_name
    reply = served.health.Check(health_pb2.HealthCheckRequest(service=name))
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
    with client_channel(served.node.address) as channel:
        reflect = reflection_pb2_grpc.ServerReflectionStub(channel)
        answers = reflect.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")])
        )
        names = {s.name for a in answers for s in a.list_services_response.service}
    assert name in names


def test_a_stopped_follower_shows_in_health_and_the_node_keeps_serving(served: Served) -> None:
    assert served.projections_health() == health_pb2.HealthCheckResponse.SERVING
    assert served.node.views is not None
    assert served.node.views.follower is not None
    served.node.views.follower.stop()
    assert served.projections_health() == health_pb2.HealthCheckResponse.NOT_SERVING
    overall = served.health.Check(health_pb2.HealthCheckRequest(service=""))
    assert overall.status == health_pb2.HealthCheckResponse.SERVING
    status = served.reports.GetProjectionStatus(report_pb2.GetProjectionStatusRequest())
    assert not status.following


def test_a_rebuild_gets_a_stopped_node_following_again(served: Served) -> None:
    number = served.ledger.Submit(rq.submit()).result.case_number
    wait_for(served.caught_up, "the views caught up")
    assert served.node.views is not None
    assert served.node.views.follower is not None
    served.node.views.follower.stop()
    assert served.projections_health() == health_pb2.HealthCheckResponse.NOT_SERVING
    served.reports.RebuildProjection(report_pb2.RebuildProjectionRequest())

    def rebuilt() -> bool:
        status = served.reports.GetProjectionStatus(report_pb2.GetProjectionStatusRequest())
        return not status.rebuild.running and status.following

    wait_for(rebuilt, "the rebuild finished")
    assert served.projections_health() == health_pb2.HealthCheckResponse.SERVING
    assert [case.case_number for case in served.cases()] == [number]


def test_a_failed_follower_shows_in_health_with_its_error(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert served.node.views is not None
    assert served.node.views.follower is not None
    projection = served.node.views.follower.projection

    def broken(*_: object) -> int:
        raise OSError("disk full")

    monkeypatch.setattr(projection, "process", broken)
    served.ledger.Submit(rq.submit())
    wait_for(
        lambda: served.projections_health() == health_pb2.HealthCheckResponse.NOT_SERVING,
        "the projections turned NOT_SERVING",
    )
    status = served.reports.GetProjectionStatus(report_pb2.GetProjectionStatusRequest())
    assert not status.following
    assert "disk full" in status.error


@pytest.mark.parametrize(
    "call",
    [
        lambda s, d: s.reports.ListCases(report_pb2.ListCasesRequest(division=d)),
        lambda s, d: s.reports.GetStatistics(report_pb2.GetStatisticsRequest(division=d)),
        lambda s, d: s.reports.ListOverdue(report_pb2.ListOverdueRequest(division=d)),
        lambda s, d: s.reports.ListRatings(report_pb2.ListRatingsRequest(division=d)),
    ],
    ids=["ListCases", "GetStatistics", "ListOverdue", "ListRatings"],
)
@pytest.mark.parametrize("division", [rq.JINAN, SIBLING, "370000000000"])
def test_every_read_refuses_a_division_outside_the_subtree(
    served: Served, call: object, division: str
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        call(served, division)  # type: ignore[operator]
    assert caught.value.code() is grpc.StatusCode.PERMISSION_DENIED
    info = error_info(caught.value)
    assert info.reason == "OUTSIDE_JURISDICTION"
    assert dict(info.metadata) == {"node": LIXIA, "division": division}


def test_a_division_inside_the_subtree_is_answered(served: Served) -> None:
    served.ledger.Submit(rq.submit())
    wait_for(served.caught_up, "the views caught up")
    assert served.cases(division=TOWNSHIP) == []
    assert len(served.cases(division=LIXIA)) == 1


def test_a_malformed_division_or_day_is_invalid_argument_naming_it(served: Served) -> None:
    for request, field in (
        (report_pb2.ListCasesRequest(division="3701020000"), "division"),
        (report_pb2.ListCasesRequest(as_of="2026-13-01"), "as_of"),
        (report_pb2.ListOverdueRequest(as_of="9999-12-31"), "as_of"),
        (report_pb2.GetStatisticsRequest(as_of="0001-01-01"), "as_of"),
        (report_pb2.ListCasesRequest(page_token="not-a-case"), "page_token"),
        (report_pb2.ListCasesRequest(owner="3701"), "owner"),
        (report_pb2.ListCasesRequest(owner="37010200000x"), "owner"),
        (report_pb2.ListCasesRequest(channel=7), "channel"),  # type: ignore[arg-type]
    ):
        method = getattr(served.reports, type(request).__name__.removesuffix("Request"))
        with pytest.raises(grpc.RpcError) as caught:
            method(request)
        assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        status = rpc_status.from_call(caught.value)  # type: ignore[arg-type]
        assert status is not None
        assert field in str(status.details)


def test_a_page_size_over_its_bound_is_refused_and_the_bound_itself_is_served(
    served: Served,
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        served.reports.ListCases(report_pb2.ListCasesRequest(page_size=1001))
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    served.reports.ListCases(report_pb2.ListCasesRequest(page_size=1000))


def test_pages_cover_every_case_once(served: Served) -> None:
    numbers = {served.ledger.Submit(rq.submit()).result.case_number for _ in range(5)}
    wait_for(served.caught_up, "the views caught up")
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        page = served.reports.ListCases(report_pb2.ListCasesRequest(page_size=2, page_token=token))
        pages += 1
        assert len(page.cases) <= 2
        seen += [case.case_number for case in page.cases]
        token = page.next_page_token
        if not token:
            break
    assert pages == 3
    assert sorted(seen) == sorted(numbers)


def test_owner_and_channel_are_filtered_by_the_node_across_pages(served: Served) -> None:
    online = types_pb2.SUBMISSION_CHANNEL_ONLINE
    window = {served.ledger.Submit(rq.submit()).result.case_number for _ in range(3)}
    web = {served.ledger.Submit(rq.submit(channel=online)).result.case_number for _ in range(2)}
    wait_for(served.caught_up, "the views caught up")

    def listed(**fields: object) -> set[str]:
        numbers: list[str] = []
        token = ""
        while True:
            request = report_pb2.ListCasesRequest(page_size=2, page_token=token, **fields)  # type: ignore[arg-type]
            page = served.reports.ListCases(request)
            assert len(page.cases) <= 2
            numbers += [case.case_number for case in page.cases]
            token = page.next_page_token
            if not token:
                assert len(numbers) == len(set(numbers))
                return set(numbers)

    assert listed(channel=online) == web
    assert listed(channel=types_pb2.SUBMISSION_CHANNEL_WINDOW) == window
    assert listed(owner=LIXIA) == window | web
    assert listed(owner=LIXIA, channel=online) == web
    assert listed(owner=SIBLING) == set()


def test_statistics_of_the_node_count_its_submissions_in_the_period(served: Served) -> None:
    for _ in range(2):
        served.ledger.Submit(rq.submit())
    wait_for(served.caught_up, "the views caught up")
    reply = served.reports.GetStatistics(
        report_pb2.GetStatisticsRequest(first_day="2026-03-01", last_day="2026-03-31")
    )
    assert [(row.division, row.own) for row in reply.rows] == [(LIXIA, False)]
    assert reply.rows[0].figures.submitted == 2
    assert reply.total.submitted == 2
    assert not reply.total.HasField("on_time_rate")  # nothing concluded: no rate


# -- a case handed over ------------------------------------------------------------------


@pytest.fixture
def township_and_county(tmp_path: Path) -> Iterator[tuple[Served, Served]]:
    directory: dict[str, str] = {}
    nodes = []
    for code in (TOWNSHIP, LIXIA):
        node = start(
            secured(NodeConfig(code=code, data_dir=tmp_path / code, allow_client_time=True)),
            (),
            directory,
        )
        directory[code] = node.address
        nodes.append(node)
    try:
        township, county = (serve(node) for node in nodes)
        yield next(township), next(county)
    finally:
        for node in nodes:
            node.stop(grace=0)


def test_a_case_handed_over_reaches_the_views_of_the_node_that_took_it(
    township_and_county: tuple[Served, Served],
) -> None:
    township, county = township_and_county
    number = township.ledger.Submit(rq.submit()).result.case_number
    township.ledger.Accept(ledger_pb2.AcceptRequest(meta=rq.meta(), case=number, notice_no="受1"))
    reply = township.ledger.Transfer(
        ledger_pb2.TransferRequest(meta=rq.meta(), case=number, target=LIXIA, reason="转报")
    )
    assert reply.outcome == types_pb2.TRANSFER_OUTCOME_ACCEPTED
    wait_for(county.caught_up, "the county's views caught up")
    (case,) = county.cases()
    assert case.case_number == number
    assert case.owner == LIXIA
    assert list(case.owners) == [TOWNSHIP, LIXIA]
    assert case.received_by == TOWNSHIP
    # Imported events (received) and the county's own acceptance (authored) both counted.
    expected = county.ledger.GetCase(ledger_pb2.GetCaseRequest(case=number)).case.version
    assert case.version == expected


# -- on either store -----------------------------------------------------------------


def test_a_nodes_views_follow_its_log_on_either_store(node: RunningNode, store_kind: str) -> None:
    """The `node` fixture runs on SQLite and on Cassandra (tests/nodes/conftest.py):
    both stores' recorders subscribe, so both nodes keep views."""
    serving = serve(node)  # held: the channel closes with the generator
    served = next(serving)
    number = served.ledger.Submit(rq.submit()).result.case_number
    wait_for(served.caught_up, f"the views caught up on {store_kind}")
    assert [case.case_number for case in served.cases()] == [number]
    assert served.projections_health() == health_pb2.HealthCheckResponse.SERVING
