"""A reader's pull: what the stage tables gained after its last position.

A pull is fixed when it begins: it covers the batches after `since` up to
the last one committed then (`upto`, the position the reader resumes from),
and reads them table by table in pages ordered by (batch, key). Batches
committed while it runs are past `upto` and left to the next pull; a row
they change again is read then, in its newer state. So pulls resumed from
each other's `upto` repeat no change and miss none.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from caseledger.ledger.codes.division import DivisionCode
from caseledger.ledger.errors import InvalidInput
from caseledger.projections.exchange.store import Change, ExchangeViews
from caseledger.projections.exchange.tables import STAGE_TABLES, StageTable, table_named
from caseledger.projections.reports import OutsideJurisdiction

__all__ = ["MAX_PAGE_SIZE", "Page", "Pull"]

MAX_PAGE_SIZE = 1000
"""The most rows one page carries (a page is one gRPC message)."""


@dataclass(frozen=True)
class Page:
    table: StageTable
    first: bool
    """The table's first page (a reader writes its header then)."""
    changes: list[Change]


class Pull:
    """One pull of a node's exchange, checked as it is made."""

    def __init__(
        self,
        exchange: ExchangeViews,
        node: str,
        *,
        since: int,
        division: str = "",
        tables: Sequence[str] = (),
        page_size: int = 1000,
    ) -> None:
        self._exchange = exchange
        self.upto = exchange.head()
        # Violations name the fields of the request a pull is made from
        # (`StreamExchangeRequest`): `after`, `table`, `page_size`, `division`.
        if since < 0:
            raise InvalidInput.single("after", "must not be negative")
        if since > self.upto:
            raise InvalidInput.single(
                "after",
                f"{since} is past this node's last exchange batch {self.upto}: "
                "a position another node or another exchange database gave",
            )
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise InvalidInput.single("page_size", f"must be between 1 and {MAX_PAGE_SIZE}")
        self.since = since
        self._page_size = page_size
        self.tables = _tables(tables)
        self.subtree = _subtree(node, division)

    def pages(self) -> Iterator[Page]:
        """Every page of every table asked for, each table at least one page."""
        for table in self.tables:
            after: tuple[object, ...] = ()
            first = True
            while True:
                changes = self._exchange.changes(
                    table,
                    since=self.since,
                    upto=self.upto,
                    subtree=self.subtree,
                    after=after,
                    limit=self._page_size,
                )
                yield Page(table, first, changes)
                first = False
                if len(changes) < self._page_size:
                    break
                last = changes[-1]
                after = (last.batch, *(last.row[k] for k in table.key_names))


def _tables(names: Sequence[str]) -> tuple[StageTable, ...]:
    if not names:
        return STAGE_TABLES
    chosen: list[StageTable] = []
    for name in names:
        table = table_named(name)
        if table is None:
            known = ", ".join(t.name for t in STAGE_TABLES)
            raise InvalidInput.single("table", f"no stage table {name!r}; expected {known}")
        if table not in chosen:
            chosen.append(table)
    return tuple(chosen)


def _subtree(node: str, division: str) -> str:
    """The division prefix of the rows asked for, checked to be in the node's subtree."""
    own = DivisionCode.parse(node)
    if not division:
        return own.prefix
    asked = DivisionCode.parse(division, "division")
    if not own.contains(asked):
        raise OutsideJurisdiction(str(own), division)
    return asked.prefix
