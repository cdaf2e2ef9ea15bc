"""The `Case` aggregate (办件): the stage model's commands, gathered.

The commands live in one module per phase (`intake`, `processing`, `outcome`,
`handoff`) on the common ground of `base`; this module puts them together and
re-exports the command inputs.
"""

from __future__ import annotations

from caseledger.ledger.case.base import (
    Applicant,
    CaseBase,
    Context,
    ItemRef,
    Material,
    Operator,
    materials_json,
    text,
)
from caseledger.ledger.case.handoff import HandoffCommands
from caseledger.ledger.case.intake import IntakeCommands
from caseledger.ledger.case.outcome import OutcomeCommands
from caseledger.ledger.case.processing import ProcessingCommands

__all__ = [
    "Applicant",
    "Case",
    "CaseBase",
    "Context",
    "ItemRef",
    "Material",
    "Operator",
    "materials_json",
    "text",
]


class Case(IntakeCommands, ProcessingCommands, OutcomeCommands, HandoffCommands):
    """A government service case (办件) and its hash-chained trail."""

    # Not annotated: the library makes an __init__ of an aggregate's annotations.
    NAME = "caseledger.case.Case"
    """The stable name its `Submitted` event is stored with as `originator_topic`."""
