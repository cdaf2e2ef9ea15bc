"""Case commands described as data: which options fill which request fields.

Every case command is the same motion: read options, put them into one
request message with its `CommandMeta`, call one RPC, report the
`CommandResult`. `CaseCommand` describes a command by its RPC, request type
and `Option`s; `CaseCommand.click_command` turns the description into a click
command, and `CaseCommand.request` (pure, tested on its own) builds the
message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import click
from google.protobuf import message

from caseledger.cli.output import command_result
from caseledger.cli.params import Instant
from caseledger.cli.session import Session


@dataclass(frozen=True)
class Option:
    """One command-line option and the request field it fills (`applicant.name`: nested)."""

    flag: str
    target: str
    help: str
    type: click.ParamType[Any] | None = None
    required: bool = False
    multiple: bool = False

    @property
    def key(self) -> str:
        """The name click gives the option's value."""
        return self.flag.lstrip("-").replace("-", "_")

    def click_option(self) -> click.Option:
        return click.Option(
            [self.flag, self.key],
            type=self.type,
            required=self.required,
            multiple=self.multiple,
            help=self.help,
        )

    def fill(self, request: message.Message, value: Any) -> None:
        *path, field = self.target.split(".")
        container: Any = request
        for part in path:
            container = getattr(container, part)
        if self.multiple:
            # Several options may fill one repeated field (--material, --material-file).
            getattr(container, field).extend(value)
        elif value is not None:
            setattr(container, field, value)


def option(
    flag: str,
    help: str,
    *,
    target: str | None = None,
    type: click.ParamType[Any] | None = None,
    required: bool = False,
    multiple: bool = False,
) -> Option:
    """An `Option` whose request field is named like the flag unless `target` says otherwise."""
    return Option(
        flag,
        target or flag.lstrip("-").replace("-", "_"),
        help,
        type,
        required,
        multiple,
    )


def _meta_options() -> list[click.Option]:
    """The options every case command has, for its `CommandMeta`, and --json."""
    return [
        click.Option(
            ["--request-id"],
            help="Client request id; a retry with the same id appends nothing. "
            "Default: a new UUID.",
        ),
        click.Option(
            ["--at"],
            type=Instant(),
            help="When it happened (ISO 8601, Beijing time without an offset); only nodes "
            "started with client time allowed accept it.",
        ),
        click.Option(
            ["--expect-version"],
            type=click.IntRange(min=0),
            default=0,
            help="Refuse (exit 8) unless the case is at exactly this version; 0: any.",
        ),
        click.Option(["--json", "as_json"], is_flag=True, help="Print JSON for machines."),
    ]


@dataclass(frozen=True)
class CaseCommand:
    """A case command (`accept`) as data: RPC, request message, options."""

    name: str
    rpc: str
    request_type: type[message.Message]
    done: str
    """What the output says happened, e.g. "accepted"."""
    help: str
    options: tuple[Option, ...] = ()
    on_case: bool = True
    """Takes the CASE argument (id or case number); only `submit` does not."""
    answer: Callable[[Any], dict[str, str]] | None = None
    """What the response says beyond its `CommandResult` (a transfer's outcome), if anything."""

    def request(self, session: Session, values: Mapping[str, Any]) -> message.Message:
        """The request message for the parsed command-line `values`."""
        # Every case request has `meta`, and all but Submit a `case`.
        request: Any = self.request_type()
        request.meta.CopyFrom(
            session.meta(values.get("request_id"), values.get("at"), values["expect_version"])
        )
        if self.on_case:
            request.case = values["case"]
        for opt in self.options:
            opt.fill(request, values[opt.key])
        return request  # type: ignore[no-any-return]

    def click_command(self) -> click.Command:
        def run(**values: Any) -> None:
            session = click.get_current_context().find_object(Session)
            assert session is not None, "the root command creates the session"
            rpc = getattr(session.ledger, self.rpc)
            response = rpc(self.request(session, values), timeout=session.timeout)
            extra = self.answer(response) if self.answer is not None else None
            command_result(self.done, response.result, values["as_json"], extra)

        case_argument = [click.Argument(["case"])] if self.on_case else []
        return click.Command(
            self.name,
            callback=run,
            params=[*case_argument, *(o.click_option() for o in self.options), *_meta_options()],
            help=self.help,
            short_help=self.help.splitlines()[0],
            epilog=CASE_REFERENCE if self.on_case else None,
        )


CASE_REFERENCE = (
    "CASE is the case's id (a UUID) or its 26-digit case number (办件编号): the receiving "
    "node's 12-digit division code, the date of receipt as YYYYMMDD and a 6-digit serial, "
    "e.g. 37010200000020261201000001."
)
