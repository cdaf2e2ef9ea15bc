"""The records of an import file (JSON lines) and where a run of it stands.

One line is one case submission of the source system, under its stable
record id:

    {"record_id": "LX-2019-000123", "item_code": "...", "channel": "window",
     "applicant": {"type": "natural-person", "name": "张三", "id_number": "..."},
     "materials": [{"name": "申请书", "sha256": "..."}],
     "operator": {"id": "王芳", "role": "window_clerk"},
     "occurred_at": "2019-03-04T09:30:00+08:00"}

`operator` (default: the command's --operator/--role) and `occurred_at` (a
node that takes client time only) may be left out. A line that is not such
a record is refused here, by its line number, and never sent.

A run's progress is kept beside the file (`<file>.progress`): the line up to
which every record is on the node, with a digest of the file up to there, so
a run that stopped (a crash, a lost node) resumes after it, and a file that
changed meanwhile is noticed instead of skipped into.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from caseledger.cli.vocabulary import APPLICANT_TYPES, SUBMISSION_CHANNELS
from caseledger.v1 import intake_pb2, ledger_pb2, types_pb2

_FIELDS = frozenset(
    {"record_id", "item_code", "channel", "applicant", "materials", "operator", "occurred_at"}
)
_APPLICANT_FIELDS = frozenset({"type", "name", "id_number", "phone", "address"})


class BadRecord(ValueError):
    """A line that is not a record: what is wrong, by field."""


@dataclass(frozen=True)
class Line:
    number: int
    end: int
    """The file offset just past this line."""
    raw: bytes
    record: intake_pb2.ImportRecord | None
    refusal: str = ""
    """Why the line is not a record (empty for a record, or a blank line)."""


def _text(value: Any, field: str, *, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise BadRecord(f"{field}: must be a non-empty string")
    return value


def _object(value: Any, field: str, allowed: frozenset[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadRecord(f"{field}: must be an object")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise BadRecord(f"{field}: unknown field(s) {', '.join(unknown)}")
    return value


def record_of(document: Any, operator: tuple[str, str]) -> intake_pb2.ImportRecord:
    """The ImportRecord a parsed line describes, or BadRecord."""
    line = _object(document, "record", _FIELDS)
    channel = SUBMISSION_CHANNELS.find(_text(line.get("channel"), "channel"))
    if channel is None:
        raise BadRecord(f"channel: one of {SUBMISSION_CHANNELS.listing()}")
    applicant = _object(line.get("applicant"), "applicant", _APPLICANT_FIELDS)
    kind = APPLICANT_TYPES.find(_text(applicant.get("type"), "applicant.type"))
    if kind is None:
        raise BadRecord(f"applicant.type: one of {APPLICANT_TYPES.listing()}")
    materials = line.get("materials", [])
    if not isinstance(materials, list):
        raise BadRecord("materials: must be a list")
    listed = []
    for index, material in enumerate(materials):
        named = _object(material, f"materials[{index}]", frozenset({"name", "sha256"}))
        listed.append(
            types_pb2.Material(
                name=_text(named.get("name"), f"materials[{index}].name"),
                sha256=_text(named.get("sha256"), f"materials[{index}].sha256"),
            )
        )
    who = _object(line.get("operator", {}), "operator", frozenset({"id", "role"}))
    meta = types_pb2.CommandMeta(
        operator=types_pb2.Operator(
            id=_text(who.get("id", operator[0]), "operator.id"),
            role=_text(who.get("role", operator[1]), "operator.role"),
        )
    )
    if "occurred_at" in line:
        stamp = _text(line["occurred_at"], "occurred_at")
        try:
            moment = datetime.fromisoformat(stamp)
        except ValueError:
            raise BadRecord("occurred_at: an ISO 8601 time") from None
        if moment.tzinfo is None:
            raise BadRecord("occurred_at: needs its UTC offset (e.g. +08:00)")
        meta.occurred_at.FromDatetime(moment)
    return intake_pb2.ImportRecord(
        record_id=_text(line.get("record_id"), "record_id"),
        submission=ledger_pb2.SubmitRequest(
            meta=meta,
            item_code=_text(line.get("item_code"), "item_code"),
            channel=channel.value,  # type: ignore[arg-type]
            applicant=ledger_pb2.Applicant(
                type=kind.value,  # type: ignore[arg-type]
                name=_text(applicant.get("name"), "applicant.name"),
                id_number=_text(applicant.get("id_number"), "applicant.id_number"),
                phone=_text(applicant.get("phone"), "applicant.phone", required=False),
                address=_text(applicant.get("address"), "applicant.address", required=False),
            ),
            materials=listed,
        ),
    )


def lines(path: Path, start: int, first_line: int, operator: tuple[str, str]) -> Iterator[Line]:
    """The file's lines from byte `start` (line `first_line`), each a record, its
    refusal, or blank (neither)."""
    with path.open("rb") as file:
        file.seek(start)
        number = first_line - 1
        offset = start
        for raw in file:
            number += 1
            offset += len(raw)
            if not raw.strip():
                yield Line(number, offset, raw, None)
                continue
            try:
                document = json.loads(raw.decode("utf-8"))
                yield Line(number, offset, raw, record_of(document, operator))
            except UnicodeDecodeError:
                yield Line(number, offset, raw, None, "not UTF-8")
            except json.JSONDecodeError as error:
                yield Line(number, offset, raw, None, f"not JSON ({error.msg})")
            except BadRecord as error:
                yield Line(number, offset, raw, None, str(error))


def count_lines(path: Path) -> int:
    with path.open("rb") as file:
        return sum(1 for _ in file)


class Progress:
    """Every record of the file up to line `line` (byte `offset`) is on the node;
    `seen` hashes the file's bytes up to there, and goes on with each line read."""

    def __init__(self, path: Path, line: int = 0, offset: int = 0) -> None:
        self.path = path
        self.line = line
        self.offset = offset
        self.seen = hashlib.sha256()

    @staticmethod
    def file_of(path: Path) -> Path:
        return path.with_name(path.name + ".progress")

    @classmethod
    def read(cls, path: Path) -> Progress:
        """Where the last run of `path` stood (the start if none); ValueError if the
        file no longer begins as it did then."""
        kept = cls.file_of(path)
        if not kept.exists():
            return cls(path)
        document = json.loads(kept.read_text(encoding="utf-8"))
        progress = cls(path, int(document["line"]), int(document["offset"]))
        with path.open("rb") as file:
            remaining = progress.offset
            while remaining > 0 and (chunk := file.read(min(remaining, 1 << 20))):
                progress.seen.update(chunk)
                remaining -= len(chunk)
        if progress.seen.hexdigest() != document["digest"]:
            raise ValueError(
                f"{path} changed since the run that stopped after line {progress.line}; "
                f"start over with --restart"
            )
        return progress

    def read_past(self, line: Line) -> None:
        self.seen.update(line.raw)

    def keep(self, line: int, offset: int) -> None:
        """Every record up to `line` (read past already) is on the node: write it
        down durably (a crash leaves the old or the new)."""
        self.line, self.offset = line, offset
        kept = Progress.file_of(self.path)
        scratch = kept.with_name(kept.name + ".tmp")
        with scratch.open("w", encoding="utf-8") as file:
            json.dump({"line": line, "offset": offset, "digest": self.seen.hexdigest()}, file)
            file.flush()
            os.fsync(file.fileno())
        scratch.replace(kept)

    def forget(self) -> None:
        Progress.file_of(self.path).unlink(missing_ok=True)
