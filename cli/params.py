"""Option values that become parts of a request: materials, dates and instants.

Each type checks the shape the node will insist on (a SHA-256 is 64 hex
digits, a date is YYYY-MM-DD), so a typo is a usage error on the spot rather
than a round trip; the node still checks everything itself.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import click

from caseledger.v1 import ledger_pb2, types_pb2

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
"""Times without an offset are read, and all times are shown, in Beijing time."""

_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_CHUNK = 1 << 20


def _pair(value: str, what: str) -> tuple[str, str]:
    name, sep, rest = value.partition("=")
    if not sep or not name.strip() or not rest.strip():
        raise ValueError(f"expected NAME={what}, got {value!r}")
    return name.strip(), rest.strip()


class MaterialDigest(click.ParamType[types_pb2.Material]):
    """`NAME=SHA256`: a material (材料) named by the digest of its file."""

    name = "NAME=SHA256"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> types_pb2.Material:
        if isinstance(value, types_pb2.Material):
            return value
        # The digest holds no "=", so the last one separates it from the name.
        name, sep, digest = str(value).rpartition("=")
        if not sep or not name.strip():
            self.fail(f"expected NAME=SHA256, got {value!r}", param, ctx)
        if not _SHA256.match(digest.strip()):
            self.fail(f"{digest!r} is not a SHA-256 (64 hex digits)", param, ctx)
        return types_pb2.Material(name=name.strip(), sha256=digest.strip().lower())


class MaterialFile(click.ParamType[types_pb2.Material]):
    """A file on disk: the material's name is the file name, its digest computed here."""

    name = "PATH"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> types_pb2.Material:
        if isinstance(value, types_pb2.Material):
            return value
        path = Path(value)
        if not path.is_file():
            self.fail(f"{value!r} is not a readable file", param, ctx)
        try:
            digest = file_sha256(path)
        except OSError as error:
            self.fail(f"cannot read {value!r}: {error.strerror}", param, ctx)
        return types_pb2.Material(name=path.name, sha256=digest)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class MaterialToCorrect(click.ParamType[ledger_pb2.MaterialToCorrect]):
    """`NAME=REASON`: a material the applicant must supply or correct (补齐补正)."""

    name = "NAME=REASON"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> ledger_pb2.MaterialToCorrect:
        if isinstance(value, ledger_pb2.MaterialToCorrect):
            return value
        try:
            name, reason = _pair(str(value), "REASON")
        except ValueError as error:
            self.fail(str(error), param, ctx)
        return ledger_pb2.MaterialToCorrect(name=name, reason=reason)


class CalendarDate(click.ParamType[str]):
    """A calendar date, YYYY-MM-DD, passed on as that text."""

    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        try:
            return date.fromisoformat(str(value)).isoformat()
        except ValueError:
            self.fail(f"{value!r} is not a date as YYYY-MM-DD", param, ctx)


class Instant(click.ParamType[datetime]):
    """An ISO 8601 time; without an offset it is Beijing time."""

    name = "ISO8601"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 time", param, ctx)
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=BEIJING)


class Digest(click.ParamType[str]):
    """A SHA-256 of a file, as 64 hex digits."""

    name = "SHA256"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value).strip()
        if not _SHA256.match(text):
            self.fail(f"{value!r} is not a SHA-256 (64 hex digits)", param, ctx)
        return text.lower()
