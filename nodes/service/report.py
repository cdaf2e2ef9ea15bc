"""The ReportService: a node's views read for supervisors and upper platforms.

Every read goes through the node's `Reports` (projections), which answers
for the node's subtree only; a division outside it is PERMISSION_DENIED
with ErrorInfo `OUTSIDE_JURISDICTION` naming the node and the division.
Days are Beijing dates; an empty `as_of` is today on the node's clock.
Pages of a sorted list (supervision, ratings) are tokens of an offset;
pages of cases are tokens of the last case id, so a page is stable while
the view grows.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import NoReturn, TypeVar

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from caseledger.ledger.case.events import china_date
from caseledger.ledger.codes.division import DivisionCode
from caseledger.ledger.errors import InvalidInput
from caseledger.nodes.service.exchange import NodeExchange
from caseledger.nodes.service.report_convert import (
    channel_code,
    day_after_start,
    day_start,
    deadline_status,
    exchange_responses,
    figures_message,
    level_message,
    level_of,
    owner_code,
    parse_day,
    reported_case,
    stage_tables,
    status_value,
)
from caseledger.nodes.service.status import DOMAIN, status_of
from caseledger.nodes.service.views import NodeViews, Rebuild, ViewsUnavailable
from caseledger.projections import (
    CaseDeadline,
    CaseFilter,
    Figures,
    OutsideJurisdiction,
    Period,
    Reports,
)
from caseledger.projections.exchange.pull import Pull
from caseledger.v1 import report_pb2, report_pb2_grpc

__all__ = ["DEFAULT_PAGE_SIZE", "MAX_PAGE_SIZE", "ReportService"]

EARLIEST_AS_OF = date(1990, 1, 1)
"""No case of an electronic ledger is older; earlier days are refused."""
LATEST_AS_OF_DAYS = 3660
"""How far ahead of today a read may look (some ten years, past any time limit):
deadlines are counted up to the day asked, so a day in year 9999 is refused."""

DEFAULT_PAGE_SIZE = 100
DEFAULT_EXCHANGE_PAGE = 500
MAX_EXCHANGE_RESPONSE_BYTES = 1024 * 1024
"""A page of long texts is sent as several responses of at most this many bytes:
a quarter of gRPC's default receive limit (4 MiB), whatever the page size."""
"""Rows a response of StreamExchange carries when the request names no size."""
MAX_PAGE_SIZE = 1000
"""The most cases one page carries (also the table of limits' bound)."""

T = TypeVar("T")


def _abort(
    context: grpc.ServicerContext, code: int, reason: str, message: str, **metadata: str
) -> NoReturn:
    info = any_pb2.Any()
    info.Pack(error_details_pb2.ErrorInfo(reason=reason, domain=DOMAIN, metadata=metadata))
    context.abort_with_status(
        rpc_status.to_status(status_pb2.Status(code=code, message=message, details=[info]))
    )
    raise AssertionError("abort_with_status returns only by raising")


def _page_size(size: int) -> int:
    if size == 0:
        return DEFAULT_PAGE_SIZE
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise InvalidInput.single("page_size", f"must be between 1 and {MAX_PAGE_SIZE}")
    return size


def _offset(token: str) -> int:
    if not token:
        return 0
    if not token.isdigit() or len(token) > 18:
        raise InvalidInput.single("page_token", "is not a page token this node gave")
    return int(token)


def _paged(items: Sequence[T], token: str, size: int) -> tuple[Sequence[T], str]:
    start = _offset(token)
    page = items[start : start + size]
    following = start + size
    return page, str(following) if following < len(items) else ""


def _rebuild_message(progress: Rebuild | None) -> report_pb2.RebuildProgress | None:
    if progress is None:
        return None
    return report_pb2.RebuildProgress(
        running=not progress.done,
        processed=progress.processed,
        total=progress.total,
        error=progress.error,
        seconds=time.monotonic() - progress.started,
    )


class ReportService(report_pb2_grpc.ReportServiceServicer):
    def __init__(
        self,
        views: NodeViews,
        clock: Callable[[], datetime],
        exchange: NodeExchange | None = None,
    ) -> None:
        self._views = views
        self._clock = clock
        self._exchange = exchange

    @contextmanager
    def _reports(self, context: grpc.ServicerContext) -> Iterator[Reports]:
        """The node's reports; every refusal a read can meet becomes its status here."""
        with self._refusals(context), self._views.reading() as reports:
            yield reports

    @contextmanager
    def _refusals(self, context: grpc.ServicerContext) -> Iterator[None]:
        """Every refusal a read can meet, as its status."""
        try:
            yield
        except ViewsUnavailable as error:
            _abort(context, code_pb2.FAILED_PRECONDITION, "NO_VIEWS", str(error))
        except OutsideJurisdiction as error:
            _abort(
                context,
                code_pb2.PERMISSION_DENIED,
                "OUTSIDE_JURISDICTION",
                f"{error.asked} is not in the subtree of node {error.node}: this node "
                "answers for its own subtree only",
                node=error.node,
                division=error.asked,
            )
        except InvalidInput as error:
            context.abort_with_status(status_of(error))

    def _today(self) -> date:
        return china_date(self._clock())

    def _as_of(self, text: str) -> date:
        """The day a read is about (today when empty), within the range reads take."""
        today = self._today()
        day = parse_day(text, "as_of", today)
        latest = today + timedelta(days=LATEST_AS_OF_DAYS)
        if not EARLIEST_AS_OF <= day <= latest:
            raise InvalidInput.single(
                "as_of", f"must be between {EARLIEST_AS_OF} and {latest} (ten years from today)"
            )
        return day

    def _period(self, first: str, last: str, as_of: date) -> Period:
        first_day = parse_day(first, "first_day", as_of)
        last_day = parse_day(last, "last_day", as_of)
        if last_day < first_day:
            raise InvalidInput.single("last_day", f"must not be before first_day {first_day}")
        return Period(first_day, last_day)

    def ListCases(
        self, request: report_pb2.ListCasesRequest, context: grpc.ServicerContext
    ) -> report_pb2.ListCasesResponse:
        with self._reports(context) as reports:
            as_of = self._as_of(request.as_of)
            where = CaseFilter(
                subtree=request.division,
                status=status_value(request.status),
                item_code=request.item_code,
            )
            if request.submitted_from:
                start = parse_day(request.submitted_from, "submitted_from", as_of)
                where = replace(where, submitted_from=day_start(start))
            if request.submitted_to:
                end = parse_day(request.submitted_to, "submitted_to", as_of)
                where = replace(where, submitted_to=day_after_start(end))
            if request.page_token:
                _case_token(request.page_token)
            page = reports.cases(
                where,
                as_of=as_of,
                deadline=deadline_status(request.deadline),
                page_size=_page_size(request.page_size),
                page_token=request.page_token,
                owner=owner_code(request.owner),
                channel=channel_code(request.channel),
            )
            return report_pb2.ListCasesResponse(
                cases=[reported_case(state) for state in page.cases],
                next_page_token=page.next_page_token,
                as_of=as_of.isoformat(),
            )

    def GetStatistics(
        self, request: report_pb2.GetStatisticsRequest, context: grpc.ServicerContext
    ) -> report_pb2.GetStatisticsResponse:
        with self._reports(context) as reports:
            as_of = self._as_of(request.as_of)
            period = self._period(request.first_day, request.last_day, as_of)
            level = level_of(request.level)
            items = [request.item_code]
            if request.per_item and not request.item_code:
                items = reports.item_codes(request.division)
            rows: list[report_pb2.StatisticsRow] = []
            total = Figures()
            for item in items:
                for row in reports.stats(
                    period, as_of, division=request.division, level=level, item_code=item
                ):
                    total += row.figures
                    code = DivisionCode(row.division)
                    rows.append(
                        report_pb2.StatisticsRow(
                            division=row.division,
                            level=level_message(code.level),
                            own=row.own,
                            item_code=item if request.per_item else "",
                            figures=figures_message(row.figures),
                        )
                    )
            return report_pb2.GetStatisticsResponse(
                rows=rows,
                total=figures_message(total),
                first_day=period.first.isoformat(),
                last_day=period.last.isoformat(),
                as_of=as_of.isoformat(),
            )

    def ListOverdue(
        self, request: report_pb2.ListOverdueRequest, context: grpc.ServicerContext
    ) -> report_pb2.ListOverdueResponse:
        with self._reports(context) as reports:
            as_of = self._as_of(request.as_of)
            size = _page_size(request.page_size)
            flagged = reports.overdue(as_of, request.division)
            page, following = _paged(flagged, request.page_token, size)
            return report_pb2.ListOverdueResponse(
                cases=[reported_case(state) for state in page],
                next_page_token=following,
                as_of=as_of.isoformat(),
            )

    def ListRatings(
        self, request: report_pb2.ListRatingsRequest, context: grpc.ServicerContext
    ) -> report_pb2.ListRatingsResponse:
        with self._reports(context) as reports:
            as_of = self._as_of(request.as_of)
            period = self._period(request.first_day, request.last_day, as_of)
            size = _page_size(request.page_size)
            rated: list[CaseDeadline] = reports.ratings(
                period, as_of, request.division, bad_only=request.bad_only
            )
            page, following = _paged(rated, request.page_token, size)
            figures = reports.stats(period, as_of, division=request.division)[0].figures
            return report_pb2.ListRatingsResponse(
                cases=[reported_case(state) for state in page],
                next_page_token=following,
                figures=_ratings_only(figures),
                as_of=as_of.isoformat(),
            )

    def GetProjectionStatus(
        self, request: report_pb2.GetProjectionStatusRequest, context: grpc.ServicerContext
    ) -> report_pb2.GetProjectionStatusResponse:
        return report_pb2.GetProjectionStatusResponse(
            positions=[
                report_pb2.ProjectionPosition(
                    view=u.view, upstream=u.name, position=u.position, head=u.head, lag=u.lag
                )
                for u in self._views.status()
            ],
            following=self._views.running,
            error=self._views.error,
            rebuild=_rebuild_message(self._views.rebuilding),
            exchange=[
                report_pb2.ProjectionPosition(
                    view="exchange",
                    upstream=name,
                    position=position,
                    head=head,
                    lag=max(0, head - position),
                )
                for name, position, head in (self._exchange.status() if self._exchange else [])
            ],
        )

    def RebuildProjection(
        self, request: report_pb2.RebuildProjectionRequest, context: grpc.ServicerContext
    ) -> report_pb2.RebuildProjectionResponse:
        try:
            progress = self._views.rebuild()
        except ViewsUnavailable as error:
            _abort(context, code_pb2.FAILED_PRECONDITION, "NO_VIEWS", str(error))
        return report_pb2.RebuildProjectionResponse(rebuild=_rebuild_message(progress))

    def StreamExchange(
        self, request: report_pb2.StreamExchangeRequest, context: grpc.ServicerContext
    ) -> Iterator[report_pb2.StreamExchangeResponse]:
        with self._refusals(context):
            if self._exchange is None:
                raise ViewsUnavailable("this node keeps no exchange")
            with self._exchange.reading() as exchange:
                pull = Pull(
                    exchange,
                    self._exchange.node,
                    since=request.after,
                    division=request.division,
                    tables=stage_tables(request.table),
                    page_size=request.page_size or DEFAULT_EXCHANGE_PAGE,
                )
                pages = pull.pages()
        # Refusals come before the first response; the pages are read as the
        # client takes them, so a big pull holds one page at a time.
        for page in pages:
            yield from exchange_responses(page, pull.upto, MAX_EXCHANGE_RESPONSE_BYTES)


def _case_token(token: str) -> None:
    """A page of cases ends at a case id: anything else is not a token this node gave."""
    try:
        uuid.UUID(token)
    except ValueError:
        raise InvalidInput.single("page_token", "is not a page token this node gave") from None


def _ratings_only(figures: Figures) -> report_pb2.Figures:
    """Of the period's figures, those about ratings (the others belong to GetStatistics)."""
    rated = Figures(
        ratings=figures.ratings,
        default_ratings=figures.default_ratings,
        bad_ratings=figures.bad_ratings,
        rectified_in_time=figures.rectified_in_time,
        rectifications_open=figures.rectifications_open,
        rectifications_overdue=figures.rectifications_overdue,
    )
    return figures_message(rated)
