"""The gRPC boundary of a node: every request is decoded and bounded here, once.

`Boundary` is a server interceptor. It wraps each unary-request handler so
that:

- a request that does not decode (truncated or foreign bytes, a string field
  that is not UTF-8, nesting past the parser's depth) is INVALID_ARGUMENT,
  where grpc-python would answer INTERNAL: the handler's deserializer is
  replaced by one that hands back an `Undecodable` marker instead of raising,
  and the wrapped handler refuses the marker before the servicer sees it;
- a request of a caseledger.v1 service is walked field by field, by its
  descriptor, against the table of `caseledger.ledger.limits`: every field
  over its bound is named in one INVALID_ARGUMENT (google.rpc.BadRequest),
  and the handler never runs, so nothing is written.

The walk needs no list of fields: it reads whatever the request holds, so a
field added to the API is bounded the day it is added (by the table's
defaults until it has an entry of its own; a test makes sure it gets one).
Requests larger than `MAX_REQUEST_BYTES` never get here: the server's receive
limit turns them away (RESOURCE_EXHAUSTED, gRPC's own status for it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import structlog
from google.protobuf import descriptor_pool
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from caseledger.ledger import limits
from caseledger.ledger.errors import FieldViolation, InvalidInput
from caseledger.nodes.metrics import Metrics
from caseledger.nodes.service.handlers import admitting
from caseledger.nodes.service.status import status_of, undecodable_status

_log = structlog.get_logger("caseledger.nodes.boundary")

CHECKED_PACKAGE = "caseledger.v1"
"""The services whose requests are bounded by the table (health and reflection are gRPC's)."""

WHOLE_MESSAGES = frozenset({"google.protobuf.Timestamp"})
"""Message types checked whole where they are read, not field by field."""

_UNBOUNDED_TYPES = frozenset({FieldDescriptor.TYPE_ENUM, FieldDescriptor.TYPE_BOOL})


@dataclass(frozen=True)
class Undecodable:
    """What the tolerant deserializer hands on instead of a request it could not decode."""

    reason: str


def _tolerant(deserialize: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    def parse(data: bytes) -> Any:
        try:
            return deserialize(data)
        except Exception as error:  # DecodeError, and whatever else the parser raises
            return Undecodable(f"{type(error).__name__}: {error}")

    return parse


# -- the walk -----------------------------------------------------------------------


def violations(message: Message, prefix: str = "") -> list[FieldViolation]:
    """Every field of `message` (nested, repeated) over its bound, by its path."""
    found: list[FieldViolation] = []
    for field, value in message.ListFields():
        found.extend(_field_violations(field, value, prefix + field.name))
    return found


def _field_violations(field: FieldDescriptor, value: Any, path: str) -> list[FieldViolation]:
    kind = field.message_type
    nested = kind is not None
    if kind is not None and kind.full_name in WHOLE_MESSAGES:
        return []
    if not nested and field.type in _UNBOUNDED_TYPES:
        return []
    if not field.is_repeated:
        if nested:
            return violations(value, f"{path}.")
        one = limits.violation(path, field.name, value)
        return [] if one is None else [one]
    over = limits.count_violation(path, field.name, len(value))
    if over is not None:
        return [over]  # the entries of a list that is too long are not looked at
    found: list[FieldViolation] = []
    for index, item in enumerate(value):
        if nested:
            found.extend(violations(item, f"{path}[{index}]."))
        else:
            each = limits.violation(f"{path}[{index}]", field.name, item)
            if each is not None:
                found.append(each)
    return found


def check(message: Message) -> None:
    """Raise `InvalidInput` naming every field of `message` over its bound."""
    found = violations(message)
    if found:
        raise InvalidInput(*found)


def bounded_fields(
    descriptor: Descriptor, prefix: str = ""
) -> Iterator[tuple[str, FieldDescriptor]]:
    """Every field of a message type the walk bounds, by path (for the coverage test)."""
    for field in descriptor.fields:
        path = prefix + field.name + ("[]" if field.is_repeated else "")
        if field.message_type is not None:
            if field.message_type.full_name in WHOLE_MESSAGES:
                continue
            if field.is_repeated:
                yield path, field
            yield from bounded_fields(field.message_type, path + ".")
        elif field.type not in _UNBOUNDED_TYPES:
            yield path, field


# -- the interceptor ------------------------------------------------------------------


def _request_type(method: str) -> str:
    """The full name of the request message of `/package.Service/Method`, if known."""
    service, _, name = method.lstrip("/").rpartition("/")
    try:
        found = descriptor_pool.Default().FindMethodByName(f"{service}.{name}")
    except KeyError:
        return "request"
    return str(found.input_type.full_name)


class Boundary(grpc.ServerInterceptor):  # type: ignore[type-arg]
    """Decodes every unary request safely and bounds those of caseledger.v1."""

    def __init__(self, metrics: Metrics | None = None) -> None:
        self._metrics = metrics
        self._handlers: dict[str, grpc.RpcMethodHandler] = {}  # type: ignore[type-arg]

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],  # type: ignore[type-arg]
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:  # type: ignore[type-arg]
        method = handler_call_details.method
        wrapped = self._handlers.get(method)
        if wrapped is None:
            # Handlers are registered once and never change: wrap each once. An
            # unknown method is not remembered, so callers cannot grow the map.
            wrapped = self._wrapped(method, continuation(handler_call_details))
            if wrapped is not None:
                self._handlers[method] = wrapped
        return wrapped

    def _wrapped(
        self,
        method: str,
        handler: grpc.RpcMethodHandler | None,  # type: ignore[type-arg]
    ) -> grpc.RpcMethodHandler | None:  # type: ignore[type-arg]
        if handler is None or handler.request_streaming or handler.request_deserializer is None:
            return handler
        bounded = method.lstrip("/").startswith(CHECKED_PACKAGE + ".")
        request_type = _request_type(method)
        rpc = method.rpartition("/")[2]

        def admit(request: Any, context: grpc.ServicerContext) -> None:
            if isinstance(request, Undecodable):
                self._refused(rpc, "undecodable request", request.reason)
                context.abort_with_status(undecodable_status(request_type, request.reason))
            if bounded:
                try:
                    check(request)
                except InvalidInput as error:
                    self._refused(rpc, "request over a limit", str(error))
                    context.abort_with_status(status_of(error))

        return admitting(handler, admit, _tolerant(handler.request_deserializer))

    def _refused(self, rpc: str, what: str, detail: str) -> None:
        if self._metrics is not None:
            self._metrics.errors.labels(rpc=rpc, code="INVALID_ARGUMENT").inc()
        _log.info(what, rpc=rpc, error=detail[:500])
