"""Identifiers of people, bodies, items and licences, with their check rules.

Every identifier is a frozen value object: `parse(text, field)` validates
outside input and raises `InvalidInput` naming `field` with the precise
reason; `str()` gives the canonical text. The constructors validate too, so
an instance is valid however it was made.

Division codes live in `division` (re-exported here).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Self, TypeVar

from caseledger.ledger.codes.division import PROVINCES, DivisionCode, Level, TownshipKind
from caseledger.ledger.codes.vocabulary import ExercisingLevel, ItemType
from caseledger.ledger.errors import InvalidInput

__all__ = [
    "BusinessItemCode",
    "CitizenId",
    "CreditCode",
    "DivisionCode",
    "ELicenceId",
    "ItemBasicCode",
    "ItemImplementationCode",
    "Level",
    "TownshipKind",
    "citizen_id_check_char",
    "credit_code_check_char",
    "mod37_36_check_char",
]

_T = TypeVar("_T")

_DIGITS = "0123456789"
# GB 32100 leaves out I, O, S, V and Z so that codes cannot be misread.
CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# ISO 7064 MOD 37,36 works over the 36 alphanumerics.
ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

_CITIZEN_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CITIZEN_CHECK_CHARS = "10X98765432"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def citizen_id_check_char(first17: str) -> str:
    """GB 11643 check character (ISO 7064 MOD 11-2) for 17 digits."""
    if len(first17) != 17 or any(c not in _DIGITS for c in first17):
        raise ValueError(f"need 17 digits, got {first17!r}")
    total = sum(int(c) * w for c, w in zip(first17, _CITIZEN_WEIGHTS, strict=True))
    return _CITIZEN_CHECK_CHARS[total % 11]


def credit_code_check_char(first17: str) -> str:
    """GB 32100 check character (MOD 31) for 17 credit-code characters."""
    if len(first17) != 17 or any(c not in CREDIT_CODE_ALPHABET for c in first17):
        raise ValueError(f"need 17 characters from {CREDIT_CODE_ALPHABET}, got {first17!r}")
    total = sum(
        CREDIT_CODE_ALPHABET.index(c) * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True)
    )
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def mod37_36_check_char(text: str) -> str:
    """ISO 7064 MOD 37,36 check character (hybrid system) for `text` in 0-9A-Z."""
    if not text or any(c not in ALPHANUMERIC for c in text):
        raise ValueError(f"need one or more characters from 0-9A-Z, got {text!r}")
    product = 36
    for c in text:
        total = (product + ALPHANUMERIC.index(c)) % 36 or 36
        product = total * 2 % 37
    # The check character makes the final running sum equal 1.
    return ALPHANUMERIC[(37 - product) % 36]


def _built(make: Callable[[], _T], field: str, context: str = "") -> _T:
    """`make()`, with any `InvalidInput` it raises restated against `field`."""
    try:
        return make()
    except InvalidInput as error:
        reason = "; ".join(v.reason for v in error.violations)
        raise InvalidInput.single(field, context + reason) from None


def _citizen_id_fault(text: str) -> str | None:
    if len(text) != 18:
        return f"must be 18 characters, got {len(text)}"
    if any(c not in _DIGITS for c in text[:17]):
        return "the first 17 characters must be digits"
    if text[17] not in _CITIZEN_CHECK_CHARS:
        return f"the check character must be a digit or X, got {text[17]!r}"
    try:
        datetime.date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        return f"embedded birth date {text[6:14]} is not a real date"
    expected = citizen_id_check_char(text[:17])
    if text[17] != expected:
        return (
            f"check character is {text[17]!r} but the first 17 characters give "
            f"{expected!r} (GB 11643, ISO 7064 MOD 11-2)"
        )
    return None


@dataclass(frozen=True)
class CitizenId:
    """公民身份号码 (GB 11643): address 6 + birth date 8 + sequence 3 + check 1."""

    value: str

    def __post_init__(self) -> None:
        fault = _citizen_id_fault(self.value)
        if fault is not None:
            raise InvalidInput.single("citizen_id", fault)

    @classmethod
    def parse(cls, text: str, field: str = "citizen_id") -> Self:
        """Read an id number; a lower-case check character `x` becomes `X`."""
        normal = text[:17] + "X" if len(text) == 18 and text[17] == "x" else text
        return _built(lambda: cls(normal), field)

    @property
    def address_code(self) -> str:
        """The GB/T 2260 code of the place of registration at issue (may be abolished since)."""
        return self.value[:6]

    @property
    def birth_date(self) -> datetime.date:
        v = self.value
        return datetime.date(int(v[6:10]), int(v[10:12]), int(v[12:14]))

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        # Tracebacks and logs show the id with its birth date masked.
        return f"CitizenId('{self.value[:6]}********{self.value[14:]}')"


def _credit_code_fault(text: str) -> str | None:
    if len(text) != 18:
        return f"must be 18 characters, got {len(text)}"
    for position, c in enumerate(text, start=1):
        if c not in CREDIT_CODE_ALPHABET:
            return (
                f"character {c!r} at position {position} is not allowed "
                "(digits and upper-case letters except I, O, S, V, Z)"
            )
    expected = credit_code_check_char(text[:17])
    if text[17] != expected:
        return (
            f"check character is {text[17]!r} but the first 17 characters give "
            f"{expected!r} (GB 32100, MOD 31)"
        )
    return None


@dataclass(frozen=True, order=True)
class CreditCode:
    """统一社会信用代码 (GB 32100).

    Layout: registration authority 1 (登记管理部门代码) + organisation
    category 1 (机构类别代码) + division 6 (登记管理机关行政区划码) +
    organisation identifier 9 (主体标识码) + check 1.
    """

    value: str

    def __post_init__(self) -> None:
        fault = _credit_code_fault(self.value)
        if fault is not None:
            raise InvalidInput.single("credit_code", fault)

    @classmethod
    def parse(cls, text: str, field: str = "credit_code") -> Self:
        return _built(lambda: cls(text), field)

    @property
    def registration_authority(self) -> str:
        return self.value[0]

    @property
    def organisation_category(self) -> str:
        return self.value[1]

    @property
    def division(self) -> str:
        """Division code of the registering office, as written (6 characters)."""
        return self.value[2:8]

    @property
    def organisation_identifier(self) -> str:
        return self.value[8:17]

    def __str__(self) -> str:
        return self.value


def _item_basic_code_fault(text: str) -> str | None:
    if len(text) != 12:
        return f"must be 12 digits, got {len(text)} characters"
    if any(c not in _DIGITS for c in text):
        return "must contain only the digits 0-9"
    origin = text[:2]
    if origin != "00" and int(origin) not in PROVINCES:
        return f"catalogue origin {origin} must be 00 (national) or a GB/T 2260 province code"
    return None


@dataclass(frozen=True, order=True)
class ItemBasicCode:
    """事项基本编码: catalogue origin 2 + item type 2 + main item 5 + sub-item 3."""

    value: str

    def __post_init__(self) -> None:
        fault = _item_basic_code_fault(self.value)
        if fault is not None:
            raise InvalidInput.single("item_basic_code", fault)

    @classmethod
    def parse(cls, text: str, field: str = "item_basic_code") -> Self:
        return _built(lambda: cls(text), field)

    @property
    def origin(self) -> str:
        """`00` for the national catalogue, else the publishing province's code."""
        return self.value[:2]

    @property
    def origin_province(self) -> DivisionCode | None:
        return None if self.origin == "00" else DivisionCode.from_prefix(self.origin)

    @property
    def item_type_code(self) -> str:
        return self.value[2:4]

    @property
    def item_type(self) -> ItemType | None:
        """The national item type; None for a local extension (11+, 21+)."""
        return next((t for t in ItemType if t.code == self.item_type_code), None)

    @property
    def main_item(self) -> str:
        return self.value[4:9]

    @property
    def sub_item(self) -> str:
        return self.value[9:12]

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class ItemImplementationCode:
    """事项实施编码: implementing body's credit code 18 + exercising level 1 + basic code 12."""

    implementing_body: CreditCode
    exercising_level: ExercisingLevel
    basic_code: ItemBasicCode

    @classmethod
    def parse(cls, text: str, field: str = "item_implementation_code") -> Self:
        if len(text) != 31:
            raise InvalidInput.single(field, f"must be 31 characters, got {len(text)}")
        return cls(
            _built(lambda: CreditCode.parse(text[:18]), field, "implementing body credit code: "),
            _built(lambda: ExercisingLevel.from_code(text[18]), field, "exercising level: "),
            _built(lambda: ItemBasicCode.parse(text[19:]), field, "basic code: "),
        )

    def __str__(self) -> str:
        return f"{self.implementing_body}{self.exercising_level.code}{self.basic_code}"


@dataclass(frozen=True)
class BusinessItemCode:
    """业务办理项编码: implementation code 31 + sequence 2."""

    implementation_code: ItemImplementationCode
    sequence: str

    def __post_init__(self) -> None:
        if len(self.sequence) != 2 or any(c not in _DIGITS for c in self.sequence):
            raise InvalidInput.single(
                "business_item_code", f"sequence must be 2 digits, got {self.sequence!r}"
            )

    @classmethod
    def parse(cls, text: str, field: str = "business_item_code") -> Self:
        if len(text) != 33:
            raise InvalidInput.single(field, f"must be 33 characters, got {len(text)}")
        implementation = ItemImplementationCode.parse(text[:31], field)
        return _built(lambda: cls(implementation, text[31:]), field)

    def __str__(self) -> str:
        return f"{self.implementation_code}{self.sequence}"


E_LICENCE_ROOT = "1.2.156.3005.2"
"""OID arc under which GB/T 36904 electronic licence identifiers are issued (电子证照根)."""


def _alphanumeric_fault(name: str, text: str) -> str | None:
    if not text:
        return f"{name} is empty"
    if any(c not in ALPHANUMERIC for c in text):
        return f"{name} {text!r} must contain only digits and upper-case letters A-Z"
    return None


@dataclass(frozen=True, order=True)
class ELicenceId:
    """电子证照标识 (GB/T 36904-2018 电子证照 标识规范).

    Text form, parts separated by dots::

        1.2.156.3005.2 . <licence type> . <issuer> . <serial> . <version> . <check>

    - root `1.2.156.3005.2` (电子证照根), fixed;
    - licence type code (证照类型代码); the national catalogue's codes are
      the defining body's credit code and a 3-digit sequence (21 characters,
      e.g. `11100000000013338W011`), but local codes vary, so any 0-9A-Z;
    - issuer (证照颁发机构代码): the issuing body's unified social credit code;
    - serial (流水号): 0-9A-Z, assigned by the issuer, no fixed length;
    - version (版本号): 3 digits, `001` for the first issue;
    - check character (校验位): ISO/IEC 7064 MOD 37,36 (GB/T 17710) over
      licence type + issuer + serial + version concatenated with the dots
      removed. The root is *not* part of the check input: published
      identifiers and the issuing platforms' code agree on this.
    """

    licence_type: str
    issuer: CreditCode
    serial: str
    version: int

    def __post_init__(self) -> None:
        fault = _alphanumeric_fault("licence type code", self.licence_type)
        fault = fault or _alphanumeric_fault("serial", self.serial)
        if fault is None and not 0 <= self.version <= 999:
            fault = f"version must be 0-999 (3 digits), got {self.version}"
        if fault is not None:
            raise InvalidInput.single("e_licence_id", fault)

    @classmethod
    def issue(cls, licence_type: str, issuer: CreditCode, serial: str, version: int) -> Self:
        """A new identifier; its check character is computed, never supplied."""
        return cls(licence_type, issuer, serial, version)

    @classmethod
    def parse(cls, text: str, field: str = "e_licence_id") -> Self:
        root = E_LICENCE_ROOT + "."
        if not text.startswith(root):
            raise InvalidInput.single(field, f"must start with {root}")
        parts = text[len(root) :].split(".")
        if len(parts) != 5:
            raise InvalidInput.single(
                field,
                "after the root must come 5 dot-separated parts (licence type, "
                f"issuer credit code, serial, version, check), got {len(parts)}",
            )
        licence_type, issuer_text, serial, version, check = parts
        issuer = _built(lambda: CreditCode.parse(issuer_text), field, "issuer credit code: ")
        if len(version) != 3 or any(c not in _DIGITS for c in version):
            raise InvalidInput.single(field, f"version must be 3 digits, got {version!r}")
        made = _built(lambda: cls(licence_type, issuer, serial, int(version)), field)
        if len(check) != 1 or check not in ALPHANUMERIC:
            raise InvalidInput.single(
                field,
                f"check character must be one digit or upper-case letter A-Z, got {check!r} "
                f"(expected {made.check_char!r})",
            )
        if check != made.check_char:
            raise InvalidInput.single(
                field,
                f"check character is {check!r} but licence type, issuer, serial and version "
                f"give {made.check_char!r} (ISO 7064 MOD 37,36)",
            )
        return made

    @property
    def check_char(self) -> str:
        return mod37_36_check_char(
            f"{self.licence_type}{self.issuer}{self.serial}{self.version:03d}"
        )

    def __str__(self) -> str:
        return (
            f"{E_LICENCE_ROOT}.{self.licence_type}.{self.issuer}.{self.serial}."
            f"{self.version:03d}.{self.check_char}"
        )
