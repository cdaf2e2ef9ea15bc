"""The IntakeService: many case submissions in one call (bulk intake, P2).

A call is checked whole first — every record's fields, its item, its
applicant sealed under a scratch key store, its operator authorized for
Submit — and only then submitted, so a bad record refuses the call with its
path (`records[i]....`) and nothing of the call is written.

The records of a call are then submitted side by side on a small pool: each
is an ordinary `CaseLedger.submit` (idempotent per request id, atomic), and
the ledger's group commit folds the concurrent submissions into a few
transactions, so one fsync covers many records. The reply goes once every
record of the call is on disk.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime

import grpc
import structlog
from eventsourcing.persistence import OperationalError

from caseledger.ledger.application import CaseLedger, Outcome
from caseledger.ledger.case.aggregate import Context, Material, Operator
from caseledger.ledger.catalogue import ItemTerms
from caseledger.ledger.codes.vocabulary import SubmissionChannel
from caseledger.ledger.errors import FieldViolation, InvalidInput, LedgerError
from caseledger.ledger.intake import ApplicantForm, seal_applicant
from caseledger.ledger.personal.keystore import MemorySubjectKeyStore
from caseledger.ledger.personal.sealing import SubjectKeys
from caseledger.nodes.metrics import Metrics
from caseledger.nodes.service import convert
from caseledger.nodes.service.gate import Gate
from caseledger.nodes.service.ledger_base import LedgerSettings, request_digest
from caseledger.nodes.service.status import status_of, store_unavailable_status
from caseledger.v1 import intake_pb2, intake_pb2_grpc, ledger_pb2, types_pb2

_log = structlog.get_logger("caseledger.nodes.intake")

REQUEST_PREFIX = "import/"
"""A record's request id is its record id under this prefix, so an imported
case never shares a request id with a case submitted at a window."""

MAX_RECORD_ID = 100
_RPC = "ImportCases"
_AUTHORIZED_AS = "Submit"
_SUBMITTERS = 64
"""Submissions of a call run side by side. A group commit takes what waits when
the one before it ends, so the submissions in flight bound a group: with 8 a
call was bound by fsyncs (P2: 127 events/s), with 64 by the interpreter."""


@dataclass(frozen=True)
class _Submission:
    record_id: str
    ctx: Context
    item_code: str
    channel: SubmissionChannel
    form: ApplicantForm
    materials: list[Material]
    terms: ItemTerms
    """The item as read once for the whole call, not again per record."""


class IntakeService(intake_pb2_grpc.IntakeServiceServicer):
    def __init__(
        self,
        ledger: CaseLedger,
        settings: LedgerSettings,
        metrics: Metrics,
        gate: Gate | None = None,
    ) -> None:
        self._ledger = ledger
        self._settings = settings
        self._metrics = metrics
        self._gate = gate  # None on an --insecure node: the record names the operator
        self._pool = ThreadPoolExecutor(_SUBMITTERS, thread_name_prefix="intake")

    def ImportCases(
        self, request: intake_pb2.ImportCasesRequest, context: grpc.ServicerContext
    ) -> intake_pb2.ImportCasesResponse:
        with self._translated(context):
            submissions = self._checked(request, context)
            outcomes = list(self._pool.map(self._submit, submissions))
            appended = sum(1 for o in outcomes if not o.replayed)
            self._metrics.appends.labels(rpc=_RPC).inc(appended)
            _log.info("records imported", records=len(outcomes), appended=appended)
            return intake_pb2.ImportCasesResponse(
                records=[
                    intake_pb2.ImportedRecord(
                        record_id=s.record_id,
                        result=types_pb2.CommandResult(
                            case_id=str(o.case_id),
                            case_number=o.number,
                            version=o.version,
                            replayed=o.replayed,
                        ),
                        # The case's submission and the claim of its number.
                        events=0 if o.replayed else o.version + 1,
                    )
                    for s, o in zip(submissions, outcomes, strict=True)
                ]
            )
        raise AssertionError("unreachable: abort raises")

    def _submit(self, s: _Submission) -> Outcome:
        return self._ledger.submit(
            s.ctx, s.item_code, s.channel, s.form, s.materials, terms=s.terms
        )

    # -- checks ----------------------------------------------------------------

    def _checked(
        self, request: intake_pb2.ImportCasesRequest, context: grpc.ServicerContext
    ) -> list[_Submission]:
        """Every record checked and authorized, or InvalidInput naming every bad
        field of every record (a refused operator aborts the call)."""
        found: list[FieldViolation] = []
        submissions: list[_Submission] = []
        seen: dict[str, int] = {}
        operators: dict[tuple[str, str], Operator] = {}
        items: dict[str, ItemTerms | InvalidInput] = {}
        # Applicants are sealed under a scratch key store to check them: one per
        # call, and no key is kept for an applicant whose record is refused.
        scratch = SubjectKeys(MemorySubjectKeyStore())
        for index, record in enumerate(request.records):
            prefix = f"records[{index}]"
            checks = convert.Violations()
            record_id = record.record_id
            if not record_id.strip():
                checks.add("record_id", "must not be empty")
            elif len(record_id) > MAX_RECORD_ID:
                checks.add("record_id", f"longer than {MAX_RECORD_ID} characters")
            elif record_id in seen:
                checks.add("record_id", f"also the id of records[{seen[record_id]}]")
            if not record.HasField("submission"):
                checks.add("submission", "must be set")
            seen.setdefault(record_id, index)
            fields = convert.Violations()
            submission = (
                self._submission(record, context, fields, (operators, items, scratch))
                if record.HasField("submission")
                else None
            )
            found.extend(FieldViolation(f"{prefix}.{v.field}", v.reason) for v in checks.found)
            found.extend(
                FieldViolation(f"{prefix}.submission.{v.field}", v.reason) for v in fields.found
            )
            if submission is not None and not checks.found:
                submissions.append(submission)
        if found:
            raise InvalidInput(*found)
        return submissions

    def _submission(
        self,
        record: intake_pb2.ImportRecord,
        context: grpc.ServicerContext,
        checks: convert.Violations,
        known: tuple[
            dict[tuple[str, str], Operator], dict[str, ItemTerms | InvalidInput], SubjectKeys
        ],
    ) -> _Submission | None:
        """The record's submission, its fields checked (paths inside the submission)."""
        operators, items, scratch = known
        request = record.submission
        meta = request.meta
        if meta.request_id:
            checks.add("meta.request_id", "set by the record id; leave it unset")
        for path, value in (
            ("meta.operator.id", meta.operator.id),
            ("meta.operator.role", meta.operator.role),
        ):
            if not value.strip():
                checks.add(path, "must not be empty")
        if meta.expected_version:
            checks.add("meta.expected_version", "a submission opens a case; leave it 0")
        at = self._moment(meta, checks)
        code = checks.check(lambda: convert.item_code(request.item_code, "item_code"))
        channel = checks.check(
            lambda: convert.code_of(request.channel, SubmissionChannel, "channel")
        )
        form = checks.check(lambda: convert.applicant_form(request.applicant))
        checks.found.extend(convert.material_violations(list(request.materials), "materials"))
        terms: ItemTerms | None = None
        if code is not None:
            if str(code) not in items:
                items[str(code)] = _terms_or_refusal(
                    lambda: self._ledger.item_for_submission(str(code))
                )
            found = items[str(code)]
            if isinstance(found, InvalidInput):
                checks.found.extend(found.violations)
            else:
                terms = found
        if form is not None:
            checks.check(lambda: seal_applicant(form, scratch))  # the ledger's own rules
        if checks.found:
            return None
        assert code is not None
        assert channel is not None
        assert form is not None
        assert terms is not None
        key = (meta.operator.id, meta.operator.role)
        if key not in operators:
            operators[key] = self._operator(meta, context)
        request_id = REQUEST_PREFIX + record.record_id
        keyed = ledger_pb2.SubmitRequest()
        keyed.CopyFrom(request)
        keyed.meta.request_id = request_id
        ctx = Context(
            node=self._ledger.node,
            operator=operators[key],
            at=at,
            request_id=request_id,
            request_digest=request_digest(keyed),
            node_clock=not meta.HasField("occurred_at"),
        )
        return _Submission(
            record.record_id,
            ctx,
            str(code),
            channel,
            form,
            convert.materials(list(request.materials)),
            terms,
        )

    def _moment(self, meta: types_pb2.CommandMeta, checks: convert.Violations) -> datetime:
        """When the submission happened: the node's clock, or the record's own time
        where the node takes client time (a migration keeping the original dates)."""
        at = self._settings.clock()
        if not meta.HasField("occurred_at"):
            return at
        if not self._settings.allow_client_time:
            checks.add("meta.occurred_at", "this node records its own time; leave it unset")
            return at
        stamped = checks.check(
            lambda: convert.moment(meta.occurred_at, at.tzinfo, "meta.occurred_at")
        )
        return stamped or at

    def _operator(self, meta: types_pb2.CommandMeta, context: grpc.ServicerContext) -> Operator:
        """Who the record's events record, authorized for Submit as a single
        submission is (this aborts the call on a refusal)."""
        named = Operator(meta.operator.id, meta.operator.role)
        if self._gate is None:
            return named
        acting = self._gate.acting(context, _AUTHORIZED_AS, meta.operator.role)
        if acting is None:
            return named
        if acting.on_behalf:
            return replace(named, authentication=acting.authentication())
        return Operator(acting.identity.operator_id, acting.role, acting.authentication())

    @contextmanager
    def _translated(self, context: grpc.ServicerContext) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        except LedgerError as error:
            status = status_of(error)
            self._metrics.errors.labels(rpc=_RPC, code=status.code.name).inc()
            _log.info("import refused", error=str(error)[:500], code=status.code.name)
            context.abort_with_status(status)
        except OperationalError as error:
            self._metrics.errors.labels(rpc=_RPC, code="UNAVAILABLE").inc()
            _log.error("store unavailable", rpc=_RPC, error=str(error)[:500])
            context.abort_with_status(store_unavailable_status(error))
        finally:
            self._metrics.latency.labels(rpc=_RPC).observe(time.perf_counter() - started)


def _terms_or_refusal(read: Callable[[], ItemTerms]) -> ItemTerms | InvalidInput:
    try:
        return read()
    except InvalidInput as error:
        return error


def _refusal(check: Callable[[], object]) -> InvalidInput | None:
    try:
        check()
    except InvalidInput as error:
        return error
    return None
