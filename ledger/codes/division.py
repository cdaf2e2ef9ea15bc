"""Administrative division codes (行政区划代码, 统计用区划代码).

A node of the network is named by a 12-digit statistical division code:
province 2 + city 2 + county 2 (the 6 digits of GB/T 2260) + township 3 +
village 3. The network stops at townships, so the village part is always
000. A code's significant part (its *prefix*) is what remains after cutting
the zero parts at the end; one code contains another exactly when it is a
prefix of it, which is how jurisdiction is decided everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Self

from caseledger.ledger.errors import InvalidInput

# GB/T 2260 province-level codes (省级): the five northern regions 11–15,
# north-east 21–23, east 31–37, central-south 41–46, south-west 50–54,
# north-west 61–65, Taiwan 71, Hong Kong 81, Macao 82.
PROVINCES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37}
    | {41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82}
)


class Level(Enum):
    """The four administrative levels a node can sit at; value = prefix length."""

    PROVINCE = 2
    """省级"""
    CITY = 4
    """市级"""
    COUNTY = 6
    """县级"""
    TOWNSHIP = 9
    """乡级 (街道、镇、乡)"""

    @property
    def prefix_length(self) -> int:
        return self.value


class TownshipKind(Enum):
    """What a township part names, by its range (统计用区划代码编制规则)."""

    STREET = "street"
    """街道, 001–099"""
    TOWN = "town"
    """镇, 100–199"""
    TOWNSHIP = "township"
    """乡 (including 民族乡、苏木), 200–399"""


def township_kind_of(part: int) -> TownshipKind | None:
    """The kind a 3-digit township part denotes, or None outside 001–399."""
    if 1 <= part <= 99:
        return TownshipKind.STREET
    if 100 <= part <= 199:
        return TownshipKind.TOWN
    if 200 <= part <= 399:
        return TownshipKind.TOWNSHIP
    return None


def _fault(code: str) -> str | None:
    """Why a 12-character text is not a division code, or None if it is one."""
    if len(code) != 12:
        return f"must be 12 digits, got {len(code)} characters"
    if not (code.isascii() and code.isdigit()):
        return "must contain only the digits 0-9"
    province = int(code[:2])
    if province not in PROVINCES:
        return f"province part {code[:2]} is not a GB/T 2260 province code"
    township = int(code[6:9])
    if township != 0 and township_kind_of(township) is None:
        return (
            f"township part {code[6:9]} is outside 001-399 "
            "(001-099 street, 100-199 town, 200-399 township)"
        )
    if code[9:] != "000":
        return f"village part {code[9:]} must be 000: the network stops at townships"
    return None


@dataclass(frozen=True, order=True)
class DivisionCode:
    """A division code, always held as its 12-digit statistical form.

    Build one with `parse` (accepts the 6-digit GB/T 2260 form too) or
    `from_prefix`; the constructor takes the 12-digit form only.
    """

    code: str

    def __post_init__(self) -> None:
        fault = _fault(self.code)
        if fault is not None:
            raise InvalidInput.single("division_code", fault)

    @classmethod
    def parse(cls, text: str, field: str = "division_code") -> Self:
        """Read a 6-digit GB/T 2260 or a 12-digit statistical code."""
        if len(text) not in (6, 12):
            raise InvalidInput.single(field, f"must be 6 or 12 digits, got {len(text)} characters")
        padded = text + "000000" if len(text) == 6 else text
        fault = _fault(padded)
        if fault is not None:
            raise InvalidInput.single(field, fault)
        return cls(padded)

    @classmethod
    def from_prefix(cls, prefix: str, field: str = "division_prefix") -> Self:
        """The code whose significant part is `prefix` (2, 4, 6 or 9 digits).

        The prefix must be exactly significant: `3700` is refused because it
        is the province `37` written at city length.
        """
        level = next((lv for lv in Level if lv.prefix_length == len(prefix)), None)
        if level is None:
            raise InvalidInput.single(
                field, f"must be 2, 4, 6 or 9 digits, got {len(prefix)} characters"
            )
        fault = _fault(prefix.ljust(12, "0"))
        if fault is not None:
            raise InvalidInput.single(field, fault)
        made = cls(prefix.ljust(12, "0"))
        if made.level is not level:
            raise InvalidInput.single(
                field,
                f"{prefix} ends in a zero part; the significant prefix is {made.prefix}",
            )
        return made

    @property
    def level(self) -> Level:
        # Levels are read from the trailing zero parts, so a township placed
        # directly under a city (东莞, 中山: county part 00) is still a township.
        if self.code[6:9] != "000":
            return Level.TOWNSHIP
        if self.code[4:6] != "00":
            return Level.COUNTY
        if self.code[2:4] != "00":
            return Level.CITY
        return Level.PROVINCE

    @property
    def prefix(self) -> str:
        """The significant part: `37`, `3701`, `370102` or `370102001`."""
        return self.code[: self.level.prefix_length]

    @property
    def gbt2260(self) -> str:
        """The 6-digit GB/T 2260 form (a township shows its county's code)."""
        return self.code[:6]

    @property
    def province(self) -> DivisionCode:
        return DivisionCode(self.code[:2].ljust(12, "0"))

    @property
    def township_kind(self) -> TownshipKind | None:
        """街道 / 镇 / 乡 for a township; None for the levels above."""
        return township_kind_of(int(self.code[6:9]))

    @property
    def parent(self) -> DivisionCode | None:
        """The nearest enclosing division that has a code of its own.

        Zero parts are skipped, so a township directly under a city has that
        city as parent; a province has none.
        """
        if self.level is Level.PROVINCE:
            return None
        for level in (Level.COUNTY, Level.CITY, Level.PROVINCE):
            if level.prefix_length < self.level.prefix_length:
                candidate = DivisionCode(self.code[: level.prefix_length].ljust(12, "0"))
                if candidate.level is level:
                    return candidate
        raise AssertionError("a province code is always a candidate")  # pragma: no cover

    def ancestors(self) -> tuple[DivisionCode, ...]:
        """Parent, grandparent, … up to the province, nearest first."""
        found: list[DivisionCode] = []
        current = self.parent
        while current is not None:
            found.append(current)
            current = current.parent
        return tuple(found)

    def contains(self, other: DivisionCode) -> bool:
        """Whether `other` lies in this division's subtree (a code contains itself)."""
        return other.code.startswith(self.prefix)

    def __str__(self) -> str:
        return self.code
