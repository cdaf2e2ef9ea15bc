"""One way to put a check in front of a gRPC handler, whatever its kind: the
interceptors (`gate`, `boundary`) each say what to check, not how to wrap."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

Admit = Callable[[Any, grpc.ServicerContext], None]
"""Runs before the servicer: raises (aborts the call) to refuse it. It gets the
request of a unary-request call, and None for a streamed request."""


def admitting(
    handler: grpc.RpcMethodHandler,  # type: ignore[type-arg]
    admit: Admit,
    deserializer: Callable[[bytes], Any] | None = None,
) -> grpc.RpcMethodHandler:  # type: ignore[type-arg]
    """`handler` with `admit` run first (and `deserializer`, when given, in place
    of its own)."""
    decode = deserializer or handler.request_deserializer
    encode = handler.response_serializer
    if handler.unary_unary is not None:
        unary = handler.unary_unary

        def unary_unary(request: Any, context: grpc.ServicerContext) -> Any:
            admit(request, context)
            return unary(request, context)

        return grpc.unary_unary_rpc_method_handler(unary_unary, decode, encode)
    if handler.unary_stream is not None:
        stream = handler.unary_stream

        def unary_stream(request: Any, context: grpc.ServicerContext) -> Any:
            admit(request, context)
            return stream(request, context)

        return grpc.unary_stream_rpc_method_handler(unary_stream, decode, encode)
    if handler.stream_unary is not None:
        gather = handler.stream_unary

        def stream_unary(requests: Any, context: grpc.ServicerContext) -> Any:
            admit(None, context)
            return gather(requests, context)

        return grpc.stream_unary_rpc_method_handler(stream_unary, decode, encode)
    assert handler.stream_stream is not None
    both = handler.stream_stream

    def stream_stream(requests: Any, context: grpc.ServicerContext) -> Any:
        admit(None, context)
        return both(requests, context)

    return grpc.stream_stream_rpc_method_handler(stream_stream, decode, encode)
