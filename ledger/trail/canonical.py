"""Canonical encoding of stored events and the per-case hash chain.

The encoding is RFC 8785 (JSON Canonicalization Scheme) restricted to the
values events may hold: strings, integers of magnitude below 2**53, booleans,
null, arrays and objects. Floats are refused, so no number formatting rules
are needed. Object members are sorted by the UTF-16 code units of their names,
strings are emitted as UTF-8 with only `"`, `\\` and the control characters
below U+0020 escaped (`\\b \\f \\n \\r \\t` short forms, others as `\\u00xx`).

`docs/canonical.md` lists the hashed fields; a verifier in any language can
recompute every hash from it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

GENESIS = "0" * 64
"""The `prev` value of a case's first event."""

_MAX_SAFE_INTEGER = 2**53 - 1
_SHORT_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}


class NotCanonical(ValueError):
    """A value that has no canonical encoding (a float, a lone surrogate...)."""


def _string(text: str) -> str:
    out = ['"']
    for char in text:
        if char in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[char])
        elif char < " ":
            out.append(f"\\u{ord(char):04x}")
        elif "\ud800" <= char <= "\udfff":
            raise NotCanonical("lone surrogate in string")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _utf16_order(name: Any) -> bytes:
    return str(name).encode("utf-16-be", "surrogatepass")


def _encode_object(value: Mapping[Any, Any], out: list[str]) -> None:
    out.append("{")
    for index, name in enumerate(sorted(value, key=_utf16_order)):
        if not isinstance(name, str):
            raise NotCanonical(f"object member name {name!r} is not a string")
        if index:
            out.append(",")
        out.append(_string(name))
        out.append(":")
        _encode(value[name], out)
    out.append("}")


def _encode_array(value: Sequence[Any], out: list[str]) -> None:
    out.append("[")
    for index, item in enumerate(value):
        if index:
            out.append(",")
        _encode(item, out)
    out.append("]")


_LITERALS = {None: "null", True: "true", False: "false"}


def _encode(value: Any, out: list[str]) -> None:
    if value is None or isinstance(value, bool):
        out.append(_LITERALS[value])
    elif isinstance(value, int):
        if abs(value) > _MAX_SAFE_INTEGER:
            raise NotCanonical(f"integer {value} is outside the exact JSON range")
        out.append(str(value))
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, Mapping):
        _encode_object(value, out)
    elif isinstance(value, Sequence):
        _encode_array(value, out)
    else:
        raise NotCanonical(f"{type(value).__name__} has no canonical encoding")


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 encoding of `value`, as UTF-8 bytes (the reference encoder)."""
    out: list[str] = []
    _encode(value, out)
    return "".join(out).encode("utf-8")


def fast_canonical_json(value: Any) -> bytes:
    """The same bytes as `canonical_json` for event objects, at C speed.

    Equal to the reference encoder when member names are ASCII (so code-point
    order is UTF-16 order) and there are no floats: both hold for events,
    whose names are fixed in code and whose values are text, integers,
    booleans and null. A test holds the two encoders to the same output, and
    every verifier recomputes hashes with its own encoder.
    """
    return json.dumps(
        value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")


def digest(value: Any) -> str:
    """Lower-case hex SHA-256 of the canonical encoding of `value`."""
    return hashlib.sha256(fast_canonical_json(value)).hexdigest()
