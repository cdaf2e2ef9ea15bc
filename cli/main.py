"""`caseledger`: the root command, its global options, and what a node's errors mean here.

gRPC failures become a message on stderr and an exit code in exactly one
place, `NODE_FAILURES` and `translate` below; commands let `grpc.RpcError`
pass through.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import click
import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from caseledger.cli.audit.command import audit
from caseledger.cli.case import case
from caseledger.cli.catalogue import catalogue
from caseledger.cli.connect import (
    TLS_ENV,
    TOKEN_ENV,
    ClientFolderError,
    read_token,
    use,
    uses_tls,
)
from caseledger.cli.demo.command import demo
from caseledger.cli.identity import identity
from caseledger.cli.import_cases import import_cases
from caseledger.cli.network import bench, network
from caseledger.cli.node import node
from caseledger.cli.projection import projection
from caseledger.cli.report import report
from caseledger.cli.session import Connect, Session
from caseledger.cli.subject import subject
from caseledger.cli.transitions import next_actions, status_text

DEFAULT_NODE = "127.0.0.1:50051"
DEFAULT_OPERATOR = "cli"
DEFAULT_ROLE = "window_clerk"

EXIT_CODES = """\b
Exit codes:
  0  success (audit replay / audit verify: everything checked verified)
  1  any other failure reported by the node
  2  usage error (bad option or argument, unreadable file)
  3  the trail does not verify: audit replay found a break or copies
     that differ, or the node reports its copy of the case damaged
     (a version missing or unreadable, two copies of one version);
     audit verify found the node's log differs from its signed
     checkpoint (an event missing, cut or rewritten)
  4  invalid input (the node names each bad field)
  5  not allowed in the case's current state, or not owned by this node
  6  no such case or item
  7  already exists (a request id reused for another case or command)
  8  version conflict: read the case and decide again
  9  node not reachable (or it did not answer in time, or the TLS
     handshake failed: no, a foreign or an expired client certificate)
 10  not authenticated: the certificate is revoked, or the operator's
     token is missing, expired, or not one this network takes
 11  not permitted: the operator's role or division does not allow the
     command, or the caller is not a node the network's shape allows
"""


class NodeFailure(click.ClickException):
    """A node's refusal, as the operator reads it; carries its exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(self.format_message(), file=file, err=True)


@dataclass(frozen=True)
class Translation:
    exit_code: int
    message: Callable[[Any, str, str], str]
    """(rich status or None, the status message, the node address) -> text."""


def _details(status: Any, kind: type[Any]) -> list[Any]:
    found = []
    for detail in getattr(status, "details", ()):
        if detail.Is(kind.DESCRIPTOR):
            unpacked = kind()
            detail.Unpack(unpacked)
            found.append(unpacked)
    return found


def _invalid_input(status: Any, text: str, address: str) -> str:
    lines = ["invalid input:"]
    for request in _details(status, error_details_pb2.BadRequest):
        lines.extend(f"  {v.field}: {v.description}" for v in request.field_violations)
    if len(lines) == 1:
        lines.append(f"  {text}")
    lines.extend(_reason_line(_error_info(status)))
    return "\n".join(lines)


_PRECONDITIONS = {"OWNERSHIP": "not this node's case"}


def _error_info(status: Any) -> error_details_pb2.ErrorInfo | None:
    return next(iter(_details(status, error_details_pb2.ErrorInfo)), None)


def _reason_line(info: error_details_pb2.ErrorInfo | None) -> list[str]:
    """The node's stable reason and what it names (the case's status, its owner...),
    as the node sent them: what an operator quotes when asking for help."""
    if info is None or not info.metadata:
        return []
    named = ", ".join(f"{key} {value}" for key, value in sorted(info.metadata.items()))
    return [f"  reason: {info.reason} ({named})"]


def _case_state_lines(info: error_details_pb2.ErrorInfo | None) -> list[str]:
    """Where the case stands and what its status allows, from the transition table."""
    if info is None or "status" not in info.metadata:
        return []
    status = info.metadata["status"]
    lines = [f"  case status: {status_text(status)}"]
    allowed = next_actions(status, info.metadata.get("command", ""))
    if allowed is not None:
        listed = ", ".join(allowed) if allowed else "none (the case is over)"
        lines.append(f"  this status allows: {listed}")
    return lines


def _not_allowed(status: Any, text: str, address: str) -> str:
    reasons = [
        f"{_PRECONDITIONS.get(violation.type, 'not allowed')}: {violation.description}"
        for failure in _details(status, error_details_pb2.PreconditionFailure)
        for violation in failure.violations
    ]
    info = _error_info(status)
    lines = reasons or [f"not allowed: {text}"]
    lines.extend(_reason_line(info))
    lines.extend(_case_state_lines(info))
    if info is not None and info.reason == "NOT_OWNER" and "owner" in info.metadata:
        lines.append(f"  the case is owned by node {info.metadata['owner']}: ask there")
    return "\n".join(lines)


def _prefixed(prefix: str) -> Callable[[Any, str, str], str]:
    def message(status: Any, text: str, address: str) -> str:
        first = f"{prefix}: {text}" if text else prefix
        return "\n".join([first, *_reason_line(_error_info(status))])

    return message


def _conflict(status: Any, text: str, address: str) -> str:
    first = f"conflict: {text or 'the case moved on'}; read the case and decide again"
    return "\n".join([first, *_reason_line(_error_info(status))])


def _unreachable(status: Any, text: str, address: str) -> str:
    lowered = text.lower()
    if any(word in lowered for word in ("ssl", "handshake", "certificate", "tls")):
        return (
            f"the TLS handshake with the node at {address} failed: {text}\n"
            "  the node takes callers with a client certificate of its network's CA "
            "(--tls / CASELEDGER_TLS: client.key, client.crt, ca.crt) that is valid today"
        )
    if not uses_tls():
        return (
            f"node at {address} is not reachable\n"
            "  no client certificate was given: a node that runs mutual TLS (the default) "
            "takes callers with one (--tls / CASELEDGER_TLS)"
        )
    return f"node at {address} is not reachable"


def _refusal_reason(status: Any) -> list[str]:
    """The reason of a refusal for who called: always shown, it says what was missing."""
    info = _error_info(status)
    if info is None:
        return []
    return _reason_line(info) or [f"  reason: {info.reason}"]


def _unauthenticated(status: Any, text: str, address: str) -> str:
    lines = [f"not authenticated: {text}", *_refusal_reason(status)]
    lines.append(
        "  present a valid client certificate (--tls) and the operator's token "
        "(--token / CASELEDGER_TOKEN, from the network's identity provider)"
    )
    return "\n".join(lines)


def _denied(status: Any, text: str, address: str) -> str:
    return "\n".join([f"not permitted: {text}", *_refusal_reason(status)])


def _damaged(status: Any, text: str, address: str) -> str:
    info = next(iter(_details(status, error_details_pb2.ErrorInfo)), None)
    metadata = dict(info.metadata) if info is not None else {}
    where = f"version {metadata['version']} of case {metadata['case']}" if metadata else ""
    what = _DAMAGE.get(info.reason if info is not None else "", "the trail is damaged")
    line = f"trail damaged at node {address}: {what}"
    if where:
        line += f" ({where})"
    return f"{line}\n  {text}" if text else line


_DAMAGE = {
    "VERSION_MISSING": "a version is missing",
    "EVENT_UNREADABLE": "an event cannot be read",
    "UNREADABLE_EVENT": "an event cannot be read",
    "COPIES_DIFFER": "two copies of a version differ",
    "TRAIL_BROKEN": "a trail it was handed does not verify",
}


NODE_FAILURES: dict[grpc.StatusCode, Translation] = {
    grpc.StatusCode.INVALID_ARGUMENT: Translation(4, _invalid_input),
    grpc.StatusCode.FAILED_PRECONDITION: Translation(5, _not_allowed),
    grpc.StatusCode.NOT_FOUND: Translation(6, _prefixed("not found")),
    grpc.StatusCode.ALREADY_EXISTS: Translation(7, _prefixed("already exists")),
    grpc.StatusCode.ABORTED: Translation(8, _conflict),
    grpc.StatusCode.DATA_LOSS: Translation(3, _damaged),
    grpc.StatusCode.UNAVAILABLE: Translation(9, _unreachable),
    grpc.StatusCode.DEADLINE_EXCEEDED: Translation(9, _unreachable),
    grpc.StatusCode.UNAUTHENTICATED: Translation(10, _unauthenticated),
    grpc.StatusCode.PERMISSION_DENIED: Translation(11, _denied),
}
OTHER_FAILURE = 1


def translate(error: grpc.RpcError, address: str) -> NodeFailure:
    """The operator's message and exit code for a failed call to the node at `address`."""
    code = error.code() if isinstance(error, grpc.Call) else grpc.StatusCode.UNKNOWN
    text = error.details() if isinstance(error, grpc.Call) else ""
    try:
        status = rpc_status.from_call(error) if isinstance(error, grpc.Call) else None
    except ValueError:
        # A status whose details disagree with the call's code is not trusted.
        status = None
    translation = NODE_FAILURES.get(code)
    if translation is None:
        return NodeFailure(f"node error ({code.name}): {text or 'no details'}", OTHER_FAILURE)
    return NodeFailure(translation.message(status, text or "", address), translation.exit_code)


class LedgerGroup(click.Group):
    """The root group: turns a node's gRPC error, from any command, into a `NodeFailure`."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except grpc.RpcError as error:
            session = ctx.find_object(Session)
            raise translate(error, session.address if session else "?") from None


@click.group(cls=LedgerGroup, epilog=EXIT_CODES)
@click.option(
    "--node",
    "address",
    envvar="CASELEDGER_NODE",
    show_envvar=True,
    default=DEFAULT_NODE,
    show_default=True,
    metavar="HOST:PORT",
    help="gRPC address of the node to talk to.",
)
@click.option(
    "--operator",
    envvar="CASELEDGER_OPERATOR",
    show_envvar=True,
    default=DEFAULT_OPERATOR,
    show_default=True,
    metavar="ID",
    help="Operator id recorded in every event.",
)
@click.option(
    "--role",
    envvar="CASELEDGER_ROLE",
    show_envvar=True,
    default=DEFAULT_ROLE,
    show_default=True,
    help="Operator role recorded in every event.",
)
@click.option(
    "--tls",
    type=click.Path(file_okay=False, path_type=Path),
    envvar=TLS_ENV,
    show_envvar=True,
    metavar="FOLDER",
    help="Client certificate folder (client.key, client.crt, ca.crt) for mutual TLS; "
    "without it the CLI speaks plaintext, which only an --insecure node accepts.",
)
@click.option(
    "--token",
    envvar=TOKEN_ENV,
    show_envvar=True,
    metavar="FILE|TOKEN",
    help="The operator's signed token (统一身份认证), or a file holding it; the node "
    "records the identity it names instead of --operator and --role.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="Seconds to wait for the node on each call.",
)
@click.version_option(package_name="caseledger")
@click.pass_context
def cli(  # noqa: PLR0917 - click passes every option
    ctx: click.Context,
    address: str,
    operator: str,
    role: str,
    tls: Path | None,
    token: str | None,
    timeout: float,
) -> None:
    """caseledger: drive, read and audit cases on the government service ledger (一网通办).

    Talks to one node over gRPC. Case commands take a case id or case number
    (办件编号); every command records --operator and --role in its event.
    """
    # A caller (the tests) may hand in how to reach a node instead of a network.
    connect: Connect | None = ctx.obj if callable(ctx.obj) else None
    try:
        use(tls, read_token(token))
    except ClientFolderError as error:
        raise click.UsageError(str(error)) from None
    session = Session(address, operator, role, timeout, connect)
    ctx.obj = session
    ctx.call_on_close(session.close)


for _group in (
    demo,
    node,
    network,
    catalogue,
    case,
    subject,
    audit,
    report,
    projection,
    identity,
    bench,
    import_cases,
):
    cli.add_command(_group)


def main() -> None:
    """The `caseledger` console script."""
    cli.main(prog_name="caseledger")
