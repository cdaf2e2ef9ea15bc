"""Handing a case between nodes: one owner at a time."""

from __future__ import annotations

from caseledger.ledger.case import events as ev
from caseledger.ledger.case.base import CaseBase, Context, check_context, text
from caseledger.ledger.case.stages import Command
from caseledger.ledger.codes.division import DivisionCode
from caseledger.ledger.errors import InvalidInput, NotOwner


class HandoffCommands(CaseBase):
    """Handing a case between nodes: one owner at a time."""

    # -- handoff between nodes --------------------------------------------------

    def request_transfer(self, ctx: Context, target: str, reason: str) -> None:
        """转报 / 下发 / 跨域: hand the case to `target`; the owner writes no more
        until the target accepts (it becomes the owner) or rejects (ownership
        returns). Only the target can end a pending transfer, so a case never
        has two owners, however the handoff is interrupted."""
        self._check(Command.REQUEST_TRANSFER, ctx)
        division = DivisionCode.parse(target, "target")
        if str(division) == self.owner:
            raise InvalidInput.single("target", "the case is already owned by this node")
        owner = DivisionCode.parse(self.owner)
        kind = (
            "up" if division.contains(owner) else "down" if owner.contains(division) else "sideways"
        )
        payload = {"target": str(division), "kind": kind, "reason": text(reason, "reason")}
        self._append(ev.TransferRequested, ctx, payload)

    def _check_transfer_answer(self, command: Command, ctx: Context) -> None:
        check_context(ctx)
        if not self.transfer_to:
            raise self._refuse(command, "no transfer is pending")
        if ctx.node != self.transfer_to:
            raise NotOwner(self.number, self.transfer_to, ctx.node)
        self._check_time(ctx)

    def accept_transfer(self, ctx: Context) -> None:
        """The target takes the case over."""
        self._check_transfer_answer(Command.ACCEPT_TRANSFER, ctx)
        self._append(ev.TransferAccepted, ctx, {"from": self.owner})

    def reject_transfer(self, ctx: Context, reason: str) -> None:
        """The target declines; the case stays with its owner."""
        self._check_transfer_answer(Command.REJECT_TRANSFER, ctx)
        self._append(
            ev.TransferRejected, ctx, {"from": self.owner, "reason": text(reason, "reason")}
        )
