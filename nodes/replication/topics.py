"""The Kafka topics of a network (the Kafka adapter's layout, `kafka_feed`).

Node `C` writes `{prefix}.C` (every event it authored, keyed by case),
`{prefix}.C.reference` (its catalogue events too) and `{prefix}.C.checkpoints`
(its signed checkpoints, for its ancestors to witness). A node reads, by one
pattern, its subtree's authored and checkpoint topics (its own excluded) and
its ancestors' reference topics.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from caseledger.ledger.codes.division import DivisionCode
from caseledger.nodes.replication.kafka_client import BrokerSettings, TopicAdmin, TopicSettings

_CODE_LENGTH = 12


@dataclass(frozen=True)
class TopicLayout:
    """Which Kafka topics a network's nodes write and read."""

    prefix: str = "caseledger"

    def authored(self, code: str) -> str:
        return f"{self.prefix}.{code}"

    def reference(self, code: str) -> str:
        return f"{self.prefix}.{code}.reference"

    def checkpoints(self, code: str) -> str:
        return f"{self.prefix}.{code}.checkpoints"

    def is_reference(self, topic: str) -> bool:
        return topic.endswith(".reference")

    def is_checkpoints(self, topic: str) -> bool:
        return topic.endswith(".checkpoints")

    def code_of(self, topic: str) -> str:
        """The node whose topic this is."""
        return topic[len(self.prefix) + 1 :][:_CODE_LENGTH]

    def of_network(self, codes: Iterable[str]) -> list[str]:
        return [
            name
            for code in codes
            for name in (self.authored(code), self.reference(code), self.checkpoints(code))
        ]

    def subscription(self, code: str) -> str:
        """The pattern of what node `code` reads: its subtree's authored and
        checkpoint topics (its own excluded) and its ancestors' reference topics."""
        division = DivisionCode(code)
        rest = _CODE_LENGTH - len(division.prefix)
        subtree = rf"(?!{code}(?:$|\.)){division.prefix}\d{{{rest}}}(?:\.checkpoints)?"
        ancestors = "|".join(a.code for a in division.ancestors())
        reference = rf"|(?:{ancestors})\.reference" if ancestors else ""
        return rf"^{re.escape(self.prefix)}\.(?:{subtree}{reference})$"


def create_network_topics(
    broker: BrokerSettings,
    layout: TopicLayout,
    codes: Iterable[str],
    settings: TopicSettings | None = None,
) -> list[str]:
    """Create every node's topics up front (a pattern subscription notices a
    topic created later only at its next metadata refresh)."""
    names = layout.of_network(codes)
    admin = TopicAdmin(broker)
    admin.open()
    try:
        admin.ensure(names, settings)
    finally:
        admin.close()
    return names
