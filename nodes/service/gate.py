"""The gate: who is calling, checked before any servicer runs.

Over mutual TLS, every call's certificate is turned into a `Caller` (a node by
its division code, or a named client) and checked against the revocation list;
calls that only nodes make (handoffs) are refused to clients. The
finer rules, which need the request (whose log, which case), are the servicers'
and use the same `Caller` (`caller_of`). A refusal is UNAUTHENTICATED or
PERMISSION_DENIED with an ErrorInfo reason, a log line and a metric, and the
servicer never runs, so nothing is written.

A client also presents its operator's signed token: the gate admits the call
only for an operator the token vouches for, in a role and a division that allow it
(`caseledger.nodes.service.operators`); the servicer records that operator.

An `--insecure` node has no gate: every caller is anonymous and every rule that
needs a caller's identity is off (the node says so in its log at start).
"""

from __future__ import annotations

from collections.abc import Callable

import grpc
import structlog
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from caseledger.nodes.metrics import Metrics
from caseledger.nodes.service.handlers import admitting
from caseledger.nodes.service.operators import (
    Acting,
    Operators,
    PermissionRefused,
    TokenRefused,
    bearer_token,
)
from caseledger.nodes.service.status import refusal_status
from caseledger.nodes.trust.callers import ANONYMOUS, Caller, CallerKind, Callers, Refused
from caseledger.nodes.trust.sealing import sealing_key_of

_log = structlog.get_logger("caseledger.nodes.gate")

NODE_ONLY_SERVICES = ("/caseledger.v1.HandoffService/",)
"""Services only nodes call: a client certificate is refused there. (The log service
also serves clients: an auditor's CLI reads a node's log to check its Merkle log.)"""

CHECKED_SERVICES = "/caseledger.v1."
"""Calls a client makes for an operator, who must present a token (health and
reflection are gRPC's, and need the certificate only)."""

CallerOf = Callable[[grpc.ServicerContext], Caller]


def _peer_pem(context: grpc.ServicerContext) -> bytes | None:
    certs = context.auth_context().get("x509_pem_cert")
    return bytes(certs[0]) if certs else None


class Gate(grpc.ServerInterceptor):  # type: ignore[type-arg]
    def __init__(
        self, callers: Callers, operators: Operators, metrics: Metrics | None = None
    ) -> None:
        self._callers = callers
        self._operators = operators
        self._metrics = metrics
        self._handlers: dict[str, grpc.RpcMethodHandler] = {}  # type: ignore[type-arg]

    def caller_of(self, context: grpc.ServicerContext) -> Caller:
        """The caller of a call the gate admitted."""
        return self._callers.of(_peer_pem(context))

    def sealing_key_of(self, context: grpc.ServicerContext) -> X25519PublicKey | None:
        """The sealing key the caller's certificate binds (subject keys are wrapped to it)."""
        pem = _peer_pem(context)
        return None if pem is None else sealing_key_of(self._callers.certificate(pem))

    def acting(
        self, context: grpc.ServicerContext, rpc: str, named_role: str | None = None
    ) -> Acting | None:
        """The operator a client's call acts as (None for a node's call); a refusal
        aborts the call."""
        if self.caller_of(context).kind is not CallerKind.CLIENT:
            return None
        token = bearer_token(list(context.invocation_metadata()))
        try:
            return self._operators.acting(token, rpc, named_role)
        except TokenRefused as refused:
            self.refuse(
                context, rpc, grpc.StatusCode.UNAUTHENTICATED, refused.reason, refused.detail
            )
        except PermissionRefused as refused:
            self.refuse(
                context, rpc, grpc.StatusCode.PERMISSION_DENIED, refused.reason, refused.detail
            )
        raise AssertionError("unreachable: refuse aborts")

    def refuse(
        self,
        context: grpc.ServicerContext,
        rpc: str,
        code: grpc.StatusCode,
        reason: str,
        message: str,
        **metadata: str,
    ) -> None:
        """Refuse the call (this raises): the status, a log line and a metric."""
        if self._metrics is not None:
            self._metrics.refusals.labels(rpc=rpc, reason=reason).inc()
        _log.warning("call refused", rpc=rpc, reason=reason, error=message[:300], **metadata)
        context.abort_with_status(refusal_status(code, reason, message, **metadata))

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],  # type: ignore[type-arg]
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:  # type: ignore[type-arg]
        method = handler_call_details.method
        wrapped = self._handlers.get(method)
        if wrapped is None:
            handler = continuation(handler_call_details)
            if handler is None:
                return None
            wrapped = self._wrapped(method, handler)
            self._handlers[method] = wrapped
        return wrapped

    def _admit(self, method: str, context: grpc.ServicerContext) -> None:
        rpc = method.rpartition("/")[2]
        try:
            caller = self.caller_of(context)
        except Refused as refused:
            self.refuse(context, rpc, grpc.StatusCode.UNAUTHENTICATED, refused.reason, str(refused))
            return
        if caller.kind is not CallerKind.NODE and method.startswith(NODE_ONLY_SERVICES):
            self.refuse(
                context,
                rpc,
                grpc.StatusCode.PERMISSION_DENIED,
                "NODES_ONLY",
                f"{rpc} is called by nodes of the network only, not by {caller}",
                caller=str(caller),
            )
        if caller.kind is CallerKind.CLIENT and method.startswith(CHECKED_SERVICES):
            self.acting(context, rpc)

    def _wrapped(
        self,
        method: str,
        handler: grpc.RpcMethodHandler,  # type: ignore[type-arg]
    ) -> grpc.RpcMethodHandler:  # type: ignore[type-arg]
        return admitting(handler, lambda _, context: self._admit(method, context))


def anonymous(_: grpc.ServicerContext) -> Caller:
    """`caller_of` on an `--insecure` node."""
    return ANONYMOUS
