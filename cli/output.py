"""What the command line prints: rich text for people, JSON for machines.

Results go to stdout, messages about failures to stderr, so `--json` output
can be piped whatever happens.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any, cast

import click
from google.protobuf import descriptor, json_format, message, timestamp_pb2
from rich.console import Console

from caseledger.cli.params import BEIJING
from caseledger.v1 import types_pb2

_PIPED_WIDTH = 200
"""Tables written to a file or pipe are not squeezed to rich's default 80 columns."""


def console() -> Console:
    # Built per call so click's test runner, which swaps sys.stdout, sees the output.
    stream = click.get_text_stream("stdout")
    piped = not stream.isatty() and "COLUMNS" not in os.environ
    return Console(
        file=stream, highlight=False, soft_wrap=True, width=_PIPED_WIDTH if piped else None
    )


def error_console() -> Console:
    return Console(file=click.get_text_stream("stderr"), highlight=False, soft_wrap=True)


def emit_json(document: Any) -> None:
    click.echo(json.dumps(document, ensure_ascii=False, indent=2))


def message_dict(msg: message.Message) -> dict[str, Any]:
    """A proto message as JSON-ready data: proto field names, every field present,
    and 64-bit integers as JSON numbers (protobuf's JSON mapping writes them as
    strings; the values a node sends, versions and counts, are far inside what
    any JSON reader holds exactly)."""
    document = json_format.MessageToDict(
        msg,
        preserving_proto_field_name=True,
        always_print_fields_with_no_presence=True,
    )
    _numbers_as_numbers(cast(descriptor.Descriptor, msg.DESCRIPTOR), document)
    return document


_WIDE_INTEGERS = frozenset(
    {
        descriptor.FieldDescriptor.TYPE_INT64,
        descriptor.FieldDescriptor.TYPE_UINT64,
        descriptor.FieldDescriptor.TYPE_SINT64,
        descriptor.FieldDescriptor.TYPE_FIXED64,
        descriptor.FieldDescriptor.TYPE_SFIXED64,
    }
)


def _numbers_as_numbers(described: descriptor.Descriptor, document: dict[str, Any]) -> None:
    for field in described.fields:
        value = document.get(field.name)
        if value is None:
            continue
        repeated = isinstance(value, list)
        if field.type in _WIDE_INTEGERS:
            document[field.name] = [int(v) for v in value] if repeated else int(value)
        elif field.message_type is not None and not field.message_type.GetOptions().map_entry:
            # Well-known types (Timestamp) are JSON strings, not objects: nothing to walk.
            for nested in value if repeated else [value]:
                if isinstance(nested, dict):
                    _numbers_as_numbers(field.message_type, nested)


def beijing_time(stamp: timestamp_pb2.Timestamp) -> str:
    """`2026-03-02 09:01:00` in Beijing time; empty for an unset time."""
    if stamp.seconds == 0 and stamp.nanos == 0:
        return ""
    return stamp.ToDatetime(tzinfo=BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def command_result(
    done: str,
    result: types_pb2.CommandResult,
    as_json: bool,
    extra: Mapping[str, str] | None = None,
) -> None:
    """Report a case command's outcome: the case, its new version, whether it was a
    retry, and what else the command's answer says (`extra`, e.g. a transfer's owner)."""
    if as_json:
        emit_json(
            {
                "case_id": result.case_id,
                "case_number": result.case_number,
                "version": result.version,
                "replayed": result.replayed,
                **(extra or {}),
            }
        )
        return
    out = console()
    out.print(f"{done}: case [bold]{result.case_number}[/bold] (version {result.version})")
    out.print(f"id {result.case_id}")
    for key, value in (extra or {}).items():
        out.print(f"{key}: {value}")
    if result.replayed:
        out.print("retry of an earlier request with the same id: nothing was appended")
