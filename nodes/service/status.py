"""Ledger errors to gRPC statuses, through one table.

Every status carries google.rpc.ErrorInfo (domain `caseledger.v1`, a stable
reason) so clients branch on structure, never on message text, plus the
detail that says what exactly was wrong.
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Callable

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from caseledger.ledger.audit.log import LogGap
from caseledger.ledger.errors import (
    CaseExists,
    CaseNotFound,
    IllegalTransition,
    InvalidInput,
    ItemNotFound,
    LedgerError,
    NotOwner,
    RequestReused,
    SubjectNotFound,
    TrailDamaged,
    UnreadableEvent,
    VersionConflict,
)
from caseledger.ledger.trail.received import TrailBroken

DOMAIN = "caseledger.v1"


def _pack(*details: object) -> list[any_pb2.Any]:
    packed = []
    for detail in details:
        holder = any_pb2.Any()
        holder.Pack(detail)  # type: ignore[arg-type]
        packed.append(holder)
    return packed


def _info(reason: str, **metadata: str) -> error_details_pb2.ErrorInfo:
    return error_details_pb2.ErrorInfo(reason=reason, domain=DOMAIN, metadata=metadata)


def _invalid(error: InvalidInput) -> tuple[int, list[object]]:
    bad = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.reason)
            for v in error.violations
        ]
    )
    return code_pb2.INVALID_ARGUMENT, [_info("INVALID_FIELD"), bad]


def _transition(error: IllegalTransition) -> tuple[int, list[object]]:
    failure = error_details_pb2.PreconditionFailure(
        violations=[
            error_details_pb2.PreconditionFailure.Violation(
                type="TRANSITION", subject=error.command, description=error.reason
            )
        ]
    )
    info = _info("ILLEGAL_TRANSITION", command=error.command, status=error.status)
    return code_pb2.FAILED_PRECONDITION, [info, failure]


def _not_owner(error: NotOwner) -> tuple[int, list[object]]:
    failure = error_details_pb2.PreconditionFailure(
        violations=[
            error_details_pb2.PreconditionFailure.Violation(
                type="OWNERSHIP", subject=error.case, description=f"owned by {error.owner}"
            )
        ]
    )
    return code_pb2.FAILED_PRECONDITION, [_info("NOT_OWNER", owner=error.owner), failure]


def _not_found(error: CaseNotFound) -> tuple[int, list[object]]:
    resource = error_details_pb2.ResourceInfo(resource_type="case", resource_name=error.case)
    return code_pb2.NOT_FOUND, [_info("CASE_NOT_FOUND"), resource]


def _item_not_found(error: ItemNotFound) -> tuple[int, list[object]]:
    resource = error_details_pb2.ResourceInfo(
        resource_type="item", resource_name=error.implementation_code
    )
    return code_pb2.NOT_FOUND, [_info("ITEM_NOT_FOUND"), resource]


def _subject_not_found(error: SubjectNotFound) -> tuple[int, list[object]]:
    resource = error_details_pb2.ResourceInfo(
        resource_type="data subject", resource_name=error.subject
    )
    return code_pb2.NOT_FOUND, [_info("SUBJECT_NOT_FOUND"), resource]


def _reused(error: RequestReused) -> tuple[int, list[object]]:
    return code_pb2.ALREADY_EXISTS, [_info("REQUEST_ID_REUSED", request_id=error.request_id)]


def _exists(error: CaseExists) -> tuple[int, list[object]]:
    return code_pb2.ALREADY_EXISTS, [_info("CASE_EXISTS", case=error.case)]


def _conflict(error: VersionConflict) -> tuple[int, list[object]]:
    info = _info("VERSION_CONFLICT", expected=str(error.expected), actual=str(error.actual))
    return code_pb2.ABORTED, [info]


def _unreadable(error: UnreadableEvent) -> tuple[int, list[object]]:
    return code_pb2.DATA_LOSS, [_info("UNREADABLE_EVENT", name=error.name)]


def _broken(error: TrailBroken) -> tuple[int, list[object]]:
    info = _info(
        "TRAIL_BROKEN",
        case=error.case,
        version=str(error.version),
        kind=str(error.kind),
        source=error.source,
        **_hashes(error.held_hash, error.received_hash),
    )
    return code_pb2.DATA_LOSS, [info]


_DAMAGE_REASONS = {
    TrailDamaged.MISSING: "VERSION_MISSING",
    TrailDamaged.UNREADABLE: "EVENT_UNREADABLE",
    TrailDamaged.CONFLICT: "COPIES_DIFFER",
}


def _damaged(error: TrailDamaged) -> tuple[int, list[object]]:
    info = _info(
        _DAMAGE_REASONS.get(error.damage, "TRAIL_DAMAGED"),
        case=error.case,
        version=str(error.version),
        damage=error.damage,
        **_hashes(error.held_hash, error.other_hash),
    )
    resource = error_details_pb2.ResourceInfo(
        resource_type="case", resource_name=error.case, description=error.reason
    )
    return code_pb2.DATA_LOSS, [info, resource]


def _log_cut(error: LogGap) -> tuple[int, list[object]]:
    info = _info("LOG_CUT", tree_size=str(error.tree_size), position=str(error.position))
    return code_pb2.DATA_LOSS, [info]


def _hashes(held: str, other: str) -> dict[str, str]:
    """Both hashes where two copies met, named as the node sees them."""
    return {k: v for k, v in (("held_hash", held), ("other_hash", other)) if v}


def _unclassified(error: LedgerError) -> tuple[int, list[object]]:
    # A ledger error with no entry of its own is a gap in this table, not the caller's fault.
    return code_pb2.INTERNAL, [_info("UNCLASSIFIED", error=type(error).__name__)]


_TABLE: dict[type[LedgerError], Callable[..., tuple[int, list[object]]]] = {
    InvalidInput: _invalid,
    IllegalTransition: _transition,
    NotOwner: _not_owner,
    CaseNotFound: _not_found,
    ItemNotFound: _item_not_found,
    SubjectNotFound: _subject_not_found,
    RequestReused: _reused,
    CaseExists: _exists,
    VersionConflict: _conflict,
    UnreadableEvent: _unreadable,
    TrailBroken: _broken,
    TrailDamaged: _damaged,
    LogGap: _log_cut,
    LedgerError: _unclassified,
}


def status_of(error: LedgerError) -> grpc.Status:
    """The rich gRPC status for a ledger error (a subclass's: its nearest class's)."""
    translate = next(_TABLE[cls] for cls in type(error).__mro__ if cls in _TABLE)
    code, details = translate(error)
    return rpc_status.to_status(
        status_pb2.Status(code=code, message=str(error), details=_pack(*details))
    )


def refusal_status(
    code: grpc.StatusCode, reason: str, message: str, **metadata: str
) -> grpc.Status:
    """UNAUTHENTICATED or PERMISSION_DENIED: who the caller is, or what it may do, was
    not enough; ErrorInfo names what was missing (`reason`) and its particulars."""
    number = code.value[0]
    info = _info(reason, **metadata)
    return rpc_status.to_status(
        status_pb2.Status(code=number, message=message, details=_pack(info))
    )


def _disk_full(error: BaseException | None) -> bool:
    """Whether SQLite (SQLITE_FULL) or the system (ENOSPC) said the disk is full,
    anywhere in the chain of causes the store's error carries."""
    while error is not None:
        if getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
            return True
        if isinstance(error, OSError) and error.errno == errno.ENOSPC:
            return True
        error = error.__cause__ or error.__context__
    return False


def store_unavailable_status(error: Exception) -> grpc.Status:
    """UNAVAILABLE when the node's own store cannot serve (a Cassandra cluster that
    does not answer or has too few live replicas): nothing was written, and the
    same request can be sent again once the store is back. RESOURCE_EXHAUSTED
    (STORE_FULL) when it cannot write because the node's disk is full: the
    transaction rolled back, and the request can be sent again once space is
    freed."""
    if _disk_full(error):
        text = f"this node's disk is full: nothing was written; free space and try again ({error})"
        full = _info("STORE_FULL", error=type(error).__name__)
        return rpc_status.to_status(
            status_pb2.Status(
                code=code_pb2.RESOURCE_EXHAUSTED, message=text[:1000], details=_pack(full)
            )
        )
    info = _info("STORE_UNAVAILABLE", error=type(error).__name__)
    text = f"this node's store cannot serve the request now; try again later ({error})"
    return rpc_status.to_status(
        status_pb2.Status(code=code_pb2.UNAVAILABLE, message=text[:1000], details=_pack(info))
    )


def undecodable_status(message_type: str, reason: str) -> grpc.Status:
    """INVALID_ARGUMENT for request bytes that are no `message_type` (nothing was read
    from them, so no field can be named: ErrorInfo says which message was expected)."""
    text = (
        f"the request is not a valid {message_type} in protobuf encoding "
        f"(every string field must be UTF-8): {reason}"
    )
    info = _info("UNDECODABLE_REQUEST", message=message_type)
    return rpc_status.to_status(
        status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message=text, details=_pack(info))
    )
