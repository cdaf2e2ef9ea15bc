"""The bounds of every value a node takes in, in one table.

Every field a request can carry is bounded here: text by characters (code
points), bytes by length, lists by entries, numbers by range. A field is named
as the API names it; the API gives a thing the same name wherever it appears
(an `address` is a postal address in an applicant and in a mailing alike), so
one entry bounds it everywhere. Enumerations, flags and timestamps need no
entry: a converter refuses any enum number outside its code table, a flag has
no bad value, and a timestamp is checked whole where it is read (a valid
instant in years 1 to 9999).

The bounds are those of the paper and web forms the values come from, with
room to spare, so no real case is ever refused; what they rule out is the
3 MB name or the limit of two billion working days. Together they keep every
event far below `MAX_EVENT_BYTES` (a submission with every field full, in
the characters that encode longest, is tested against it), and so every log
batch and every trail a node sends within what its peers take.

`check` compares values against the table and raises `InvalidInput` naming
every field over its bound and the bound itself; the gRPC boundary walks each
request with it, once, before any handler runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from caseledger.ledger.errors import FieldViolation, InvalidInput

KIB: Final = 1024
MIB: Final = 1024 * KIB

MAX_WORKING_DAYS: Final = 3650
"""The largest statutory or promised limit of a catalogue item, in working days.

Real limits run to weeks (行政许可法 Art. 42: 20 working days, 10 more on
extension) and at the very most to a year or two; 3,650 working days (some 14
years) is beyond every item, and its due dates stay well inside the calendar."""

MAX_POSITION: Final = 2**62
"""The largest log position or aggregate version a request may name.

Both stores keep positions and versions as signed 64-bit integers (SQLite
INTEGER, Cassandra bigint); 2**62 leaves headroom for the arithmetic done on a
position (`after + 1`, a page's end) and is more than a node writing a million
events a second would reach in 100,000 years."""

MAX_EVENT_BYTES: Final = 256 * KIB
"""The largest stored state of one event (its encoded form).

The field bounds keep every event below it: the largest, a submission with 100
materials and every text full in characters that JSON-escape to six bytes, is
some 135 KB (tests/nodes/service/test_limits.py). A peer's record carrying more
is refused."""

MAX_BATCH_BYTES: Final = 1 * MIB
"""A log batch is cut before its records' states pass this (one record at least)."""

MAX_REQUEST_BYTES: Final = 4 * MIB
"""The largest request a node takes (the server's receive limit), gRPC's default.

The largest request is a trail pushed between nodes (DeliverTrail); a command
is far below it, at most a few hundred KiB by the bounds here."""


@dataclass(frozen=True)
class Bound:
    """A closed range of integers, in a unit for the message."""

    low: int
    high: int
    unit: str = ""


# -- text, in characters ------------------------------------------------------------

_FREE_TEXT = 2000
"""An opinion, a reason, a note: the comment box of a form. A written opinion
runs to a few hundred characters; 2,000 leaves room for a long one."""
_PERSON_OR_BODY = 200
"""A person's or an organisation's name, a catalogue item's, a material's: a
registered enterprise name runs to 50 or so characters, an item name to 100."""
_POSTAL_ADDRESS = 500
"""A postal address with building, room and a note for the courier."""
_DOCUMENT_NUMBER = 100
"""The number of a notice or decision (文书编号, e.g. 历下受〔2026〕12号)."""

TEXT: Final[Mapping[str, int]] = MappingProxyType(
    {
        # Who and which request: an operator is a staff number or account, a
        # request id a UUID (36) or a client's prefixed id.
        "request_id": 128,
        "id": 64,
        "role": 64,
        # References: a case id (36) or case number (at most 50, docs/domain.md);
        # a case id in any form UUID parsing takes (`urn:uuid:...` is 45).
        "case": 50,
        "case_id": 64,
        # Codes of fixed length: implementation codes (31), identity numbers
        # (18: GB 11643 and GB 32100), division codes (12), SHA-256 (64 hex),
        # dates (YYYY-MM-DD); their formats are checked where they are read.
        "item_code": 31,
        "implementation_code": 31,
        "id_number": 18,
        "target": 12,
        "from_node": 12,
        # A data subject's id: 32 hex digits of a keyed hash.
        "subject": 32,
        # Audit: a descendant's division code (12).
        "node": 12,
        "sha256": 64,
        "file_sha256": 64,
        "valid_from": 10,
        "valid_until": 10,
        "received_on": 10,
        # A phone number: 7 to 13 digits, room for separators.
        "phone": 20,
        # An electronic licence id: fixed parts of some 40 characters and a
        # serial of no fixed length.
        "licence_id": 128,
        "notice_no": _DOCUMENT_NUMBER,
        "decision_no": _DOCUMENT_NUMBER,
        "carrier": 100,
        "tracking_no": 64,
        # Between nodes: an address is host:port (a DNS name is at most 253);
        # an event's type is its stable name.
        "from_address": 255,
        "topic": 255,
        "topics": 255,
        # Reports: a division code of the node's subtree (12, or 6 of GB/T 2260),
        # days as YYYY-MM-DD, and a page token (a case id, or an offset).
        "division": 12,
        "owner": 12,
        "as_of": 10,
        "first_day": 10,
        "last_day": 10,
        "submitted_from": 10,
        "submitted_to": 10,
        "page_token": 64,
        # Names.
        "name": _PERSON_OR_BODY,
        "signer": _PERSON_OR_BODY,
        "handler": _PERSON_OR_BODY,
        "approved_by": _PERSON_OR_BODY,
        "required_materials": _PERSON_OR_BODY,  # each, a material's name
        "details": _PERSON_OR_BODY,  # each, a detail chosen on the rating form
        "step": 100,  # 审查 / 审核 / 审批 / 决定 ...
        "address": _POSTAL_ADDRESS,
        # Free text.
        "opinion": _FREE_TEXT,
        "reason": _FREE_TEXT,
        "note": _FREE_TEXT,
        "outcome": _FREE_TEXT,
        "comment": _FREE_TEXT,
        "response": _FREE_TEXT,
        "fix": _FREE_TEXT,
        "legal_basis": _FREE_TEXT,
    }
)
"""The longest text each field takes, in characters (Unicode code points)."""

BYTES: Final[Mapping[str, int]] = MappingProxyType(
    {
        "payload": 64 * KIB,  # a ping's echo; the benchmark sends 64 bytes
        "state": MAX_EVENT_BYTES,  # one stored event, as a peer sends it
    }
)
"""The longest byte string each field takes."""

LISTS: Final[Mapping[str, int]] = MappingProxyType(
    {
        # A catalogue item lists a few to a few dozen materials (申请材料).
        "materials": 100,
        "required_materials": 100,
        # The rating form (GB/T 39046) offers some twenty details to choose from.
        "details": 50,
        # An event type each; the ledger stores some thirty.
        "topics": 100,
        # A case's trail pushed between nodes, one record per event.
        "records": 10_000,
    }
)
"""The most entries each repeated field takes."""

_VERSION = Bound(0, MAX_POSITION)

NUMBERS: Final[Mapping[str, Bound]] = MappingProxyType(
    {
        "statutory_days": Bound(0, MAX_WORKING_DAYS, "working days"),
        "promised_days": Bound(0, MAX_WORKING_DAYS, "working days"),
        "expected_version": _VERSION,
        "after_version": _VERSION,
        "version": _VERSION,
        "after": Bound(0, MAX_POSITION),
        "limit": Bound(0, MAX_POSITION, "records"),
        # The audit service's log positions and tree sizes (0: the latest).
        "position": Bound(0, MAX_POSITION),
        "size": Bound(0, MAX_POSITION, "events"),
        "tree_size": Bound(0, MAX_POSITION, "events"),
        "first": Bound(0, MAX_POSITION, "events"),
        "second": Bound(0, MAX_POSITION, "events"),
        # A page of a report (0: the default page; `nodes.service.report`).
        "page_size": Bound(0, 1000, "cases"),
    }
)
"""The range of each integer field."""

# A field no entry names yet (one added to the API since) still gets a bound:
# the coverage test makes sure none is left to these.
DEFAULT_TEXT: Final = _FREE_TEXT
DEFAULT_BYTES: Final = MAX_EVENT_BYTES
DEFAULT_LIST: Final = 100
DEFAULT_NUMBER: Final = Bound(-MAX_POSITION, MAX_POSITION)


# -- checks ---------------------------------------------------------------------------


def text_violation(path: str, name: str, value: str) -> FieldViolation | None:
    """Over its bound, `value` (of field `name`, at `path`) is a violation."""
    limit = TEXT.get(name, DEFAULT_TEXT)
    if len(value) <= limit:
        return None
    return FieldViolation(path, f"must be at most {limit} characters long, got {len(value)}")


def bytes_violation(path: str, name: str, value: bytes) -> FieldViolation | None:
    limit = BYTES.get(name, DEFAULT_BYTES)
    if len(value) <= limit:
        return None
    return FieldViolation(path, f"must be at most {limit} bytes long, got {len(value)}")


def count_violation(path: str, name: str, count: int) -> FieldViolation | None:
    limit = LISTS.get(name, DEFAULT_LIST)
    if count <= limit:
        return None
    return FieldViolation(path, f"must have at most {limit} entries, got {count}")


def number_violation(path: str, name: str, value: int) -> FieldViolation | None:
    bound = NUMBERS.get(name, DEFAULT_NUMBER)
    unit = f" {bound.unit}" if bound.unit else ""
    if value < bound.low:
        if bound.low == 0:
            return FieldViolation(path, "must not be negative")
        return FieldViolation(path, f"must be at least {bound.low}{unit}, got {value}")
    if value > bound.high:
        return FieldViolation(path, f"must be at most {bound.high}{unit}, got {value}")
    return None


def violation(path: str, name: str, value: str | bytes | int) -> FieldViolation | None:
    """The violation of one scalar value, by its type: text, bytes or integer."""
    if isinstance(value, str):
        return text_violation(path, name, value)
    if isinstance(value, bytes):
        return bytes_violation(path, name, value)
    return number_violation(path, name, value)


def check(values: Iterable[tuple[str, str, str | bytes | int]]) -> None:
    """Raise `InvalidInput` naming every (path, field name, value) over its bound."""
    found = [v for v in (violation(*each) for each in values) if v is not None]
    if found:
        raise InvalidInput(*found)
