"""Shandong's shape for the province harness (P6): 1 province, 16 cities,
136 counties, 1,800 townships (乡镇街道), as 12-digit division codes.

The counts are the province's; the codes follow the statistical layout
(`37` + city + county + township + `000`) but are laid out evenly, not
copied from the real code table: cities 3701..3716, 8 or 9 counties each,
13 or 14 townships per county. The harness follows the first N townships,
taken across every city and county in turn, so 10 or 100 sources are spread
over the province as 1,800 are.
"""

from __future__ import annotations

PROVINCE = "370000000000"
CITIES, COUNTIES, TOWNSHIPS = 16, 136, 1800


def _spread(total: int, parts: int) -> list[int]:
    """`total` split into `parts` counts differing by at most one."""
    return [total // parts + (1 if index < total % parts else 0) for index in range(parts)]


def counties() -> list[str]:
    return [
        f"37{city + 1:02d}{county + 1:02d}000000"
        for city, count in enumerate(_spread(COUNTIES, CITIES))
        for county in range(count)
    ]


def townships() -> list[str]:
    """Every township, ordered so that any prefix is spread over the counties."""
    per_county = _spread(TOWNSHIPS, COUNTIES)
    codes = counties()
    ordered = []
    for serial in range(max(per_county)):
        for county, count in zip(codes, per_county, strict=True):
            if serial < count:
                ordered.append(f"{county[:6]}{serial + 1:03d}000")
    return ordered


def sources(count: int) -> list[str]:
    """The first `count` townships (at most all of them)."""
    if not 1 <= count <= TOWNSHIPS:
        raise ValueError(f"between 1 and {TOWNSHIPS} sources, not {count}")
    return townships()[:count]
