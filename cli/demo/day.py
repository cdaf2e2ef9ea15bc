"""A working day on the Shandong demo network, driven over gRPC like real service windows.

The province publishes the catalogue; then each level handles its cases:
online submissions with pre-review, a correction cycle (补齐补正), a site
check (实地核查), an overdue case, a withdrawal, a bad rating and its
rectification, and a township case reported up to its county (转报), decided
and certified there, sent back down (下发) and mailed by the township.

Two cases began weeks ago: their past events carry their own times
(`occurred_at`), which the demo network accepts because it runs with client
time allowed; everything else happens now, on the nodes' clocks.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import chinese_calendar
import grpc

import caseledger.cli.demo.catalogue as c
from caseledger.cli.params import BEIJING
from caseledger.v1 import ledger_pb2, ledger_pb2_grpc
from caseledger.v1 import types_pb2 as t

_POLL = 0.1


class DemoFailure(Exception):
    """The day could not go on; the message says where and why."""


def working_days_before(today: date, count: int) -> date:
    """The working day `count` working days before `today` (official calendar,
    weekends for years it does not cover yet)."""
    day = today
    while count > 0:
        day -= timedelta(days=1)
        count -= _is_working_day(day)
    return day


def _is_working_day(day: date) -> bool:
    if day in chinese_calendar.holidays:
        return False
    return day in chinese_calendar.workdays or day.weekday() < 5


@dataclass
class DayCase:
    """A case the day opened, as the client knows it: where it is and its last version."""

    number: str
    story: str
    item: str
    owners: list[str]
    version: int

    @property
    def owner(self) -> str:
        return self.owners[-1]


@dataclass
class Day:
    """The stubs of every node, the cases opened so far, and the day's date."""

    stubs: Mapping[str, ledger_pb2_grpc.LedgerServiceStub]
    timeout: float
    today: date = field(default_factory=lambda: datetime.now(BEIJING).date())
    cases: dict[str, DayCase] = field(default_factory=dict)
    told: list[str] = field(default_factory=list)
    """One line per story, in order, for the report."""

    def desk(self, node: str, operator: str, role: str = "window_clerk") -> Desk:
        return Desk(self, node, operator, role)

    def days_ago(self, working_days: int, hour: int, minute: int) -> datetime:
        day = working_days_before(self.today, working_days)
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BEIJING)

    def call(self, node: str, rpc: str, request: Any, what: str) -> Any:
        try:
            return getattr(self.stubs[node], rpc)(request, timeout=self.timeout)
        except grpc.RpcError as error:
            code = error.code().name if isinstance(error, grpc.Call) else "UNKNOWN"
            details = error.details() if isinstance(error, grpc.Call) else str(error)
            raise DemoFailure(f"{what}: {rpc} at node {node} failed: {code} {details}") from None

    def wait_until(self, what: str, check: Callable[[], bool], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise DemoFailure(f"gave up after {timeout:g} s waiting until {what}")
            time.sleep(_POLL)

    def find(self, node: str, number: str) -> ledger_pb2.CaseView | None:
        """The node's view of a case, or None while it does not hold it yet."""
        try:
            request = ledger_pb2.GetCaseRequest(case=number)
            return self.stubs[node].GetCase(request, timeout=self.timeout).case
        except grpc.RpcError as error:
            if isinstance(error, grpc.Call) and error.code() is grpc.StatusCode.NOT_FOUND:
                return None
            raise


@dataclass
class Desk:
    """A service window (窗口) or back office at one node, staffed by one operator."""

    day: Day
    node: str
    operator: str
    role: str

    def submit(
        self,
        story: str,
        item: str,
        channel: t.SubmissionChannel.ValueType,
        applicant: c.Applicant,
        at: datetime | None = None,
    ) -> str:
        """申报/收件 with every material the item requires; returns the case number."""
        terms = next(terms for terms in c.CATALOGUE if terms.implementation_code == item)
        request = ledger_pb2.SubmitRequest(
            meta=self._meta(at),
            item_code=item,
            channel=channel,
            applicant=applicant.message(),
            materials=[material(name, applicant.name) for name in terms.required_materials],
        )
        result = self.day.call(self.node, "Submit", request, story).result
        self.day.cases[result.case_number] = DayCase(
            result.case_number, story, terms.name, [self.node], result.version
        )
        return str(result.case_number)

    def do(self, rpc: str, number: str, at: datetime | None = None, **fields: Any) -> Any:
        """One case command (`Accept`, `RecordStep`...) with its request fields."""
        request = getattr(ledger_pb2, f"{rpc}Request")(meta=self._meta(at), case=number, **fields)
        case = self.day.cases[number]
        response = self.day.call(self.node, rpc, request, case.story)
        case.version = response.result.version
        return response

    def transfer(self, number: str, target: str, reason: str) -> None:
        """转报/下发: hand the case over and wait until the target owns it."""
        response = self.do("Transfer", number, target=target, reason=reason)
        case = self.day.cases[number]
        if response.outcome == t.TRANSFER_OUTCOME_REJECTED:
            raise DemoFailure(f"{case.story}: {target} rejected case {number}")
        if response.outcome == t.TRANSFER_OUTCOME_PENDING:
            # The owner keeps offering; the target's own view settles it.
            self.day.wait_until(
                f"{target} owns case {number}",
                lambda: (
                    (view := self.day.find(target, number)) is not None and view.owner == target
                ),
            )
            view = self.day.find(target, number)
            assert view is not None
            case.version = view.version
        case.owners.append(target)

    def _meta(self, at: datetime | None) -> t.CommandMeta:
        meta = t.CommandMeta(
            request_id=str(uuid.uuid4()),
            operator=t.Operator(id=self.operator, role=self.role),
        )
        if at is not None:
            meta.occurred_at.FromDatetime(at)
        return meta


def material(name: str, owner: str) -> t.Material:
    """A material named as the catalogue names it, with the digest of its scan."""
    return t.Material(name=name, sha256=hashlib.sha256(f"{owner}/{name}".encode()).hexdigest())


def licence_file(licence_id: str) -> str:
    return hashlib.sha256(f"licence file {licence_id}".encode()).hexdigest()


def publish_catalogue(day: Day, nodes: list[str]) -> None:
    """The province publishes the catalogue; it flows down to every node."""
    for terms in c.CATALOGUE:
        # The province's catalogue officer (事项管理员) publishes; the event names them.
        meta = t.CommandMeta(
            request_id=str(uuid.uuid4()),
            operator=t.Operator(id="sd-catalogue-01", role="catalogue_admin"),
        )
        request = ledger_pb2.PublishItemRequest(terms=terms, meta=meta)
        day.call(c.PROVINCE, "PublishItem", request, "catalogue")

    def everywhere() -> bool:
        for node in nodes:
            for terms in c.CATALOGUE:
                request = ledger_pb2.GetItemRequest(implementation_code=terms.implementation_code)
                try:
                    day.stubs[node].GetItem(request, timeout=day.timeout)
                except grpc.RpcError as error:
                    if isinstance(error, grpc.Call) and error.code() is grpc.StatusCode.NOT_FOUND:
                        return False
                    raise
        return True

    day.wait_until("every node holds the province's catalogue", everywhere)
    day.told.append(f"山东省 published {len(c.CATALOGUE)} items; every node holds them")
