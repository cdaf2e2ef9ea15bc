"""The upward exchange (办件信息汇聚): a node's cases as the stage tables upper
platforms collect — 受理, 过程, 特别程序, 结果, 材料 — written incrementally,
each row with its batch, for readers that pull what changed since their last
position. docs/exchange.md maps every column to the ledger's events.
"""

from caseledger.projections.exchange.projection import ExchangeProjection
from caseledger.projections.exchange.rows import SEALED, Row, stage_rows
from caseledger.projections.exchange.store import Change, ExchangeViews
from caseledger.projections.exchange.tables import STAGE_TABLES, Column, StageTable, table_named

__all__ = [
    "SEALED",
    "STAGE_TABLES",
    "Change",
    "Column",
    "ExchangeProjection",
    "ExchangeViews",
    "Row",
    "StageTable",
    "stage_rows",
    "table_named",
]
