"""Commands while a case is handled: steps, special procedures, suspension, conclusion."""

from __future__ import annotations

from caseledger.ledger.case import events as ev
from caseledger.ledger.case.base import CaseBase, Context, text
from caseledger.ledger.case.stages import Command, Status
from caseledger.ledger.codes.vocabulary import (
    CaseType,
    ConclusionResult,
    SpecialProcedureKind,
)
from caseledger.ledger.errors import InvalidInput

EXTENSION_DAYS = 10  # Administrative Licensing Law Art. 42
_STEP_ACTIONS = frozenset({"pass", "return"})


class ProcessingCommands(CaseBase):
    """Commands while a case is handled: steps, special procedures, suspension, conclusion."""

    # -- processing --------------------------------------------------------

    def record_step(self, ctx: Context, step: str, handler: str, opinion: str, action: str) -> None:
        """办理环节: 审查 / 审核 / 审批 / 决定 ..., passed on or returned."""
        self._check(Command.RECORD_STEP, ctx)
        if action not in _STEP_ACTIONS:
            raise InvalidInput.single("action", "must be pass or return")
        payload = {
            "step": text(step, "step"),
            "handler": text(handler, "handler"),
            "opinion": opinion,
            "action": action,
        }
        self._append(ev.StepRecorded, ctx, payload)

    def start_special_procedure(
        self, ctx: Context, kind: SpecialProcedureKind, reason: str
    ) -> None:
        """特别程序: its time is not counted (Art. 45)."""
        self._check(Command.START_SPECIAL_PROCEDURE, ctx)
        self._append(
            ev.SpecialProcedureStarted, ctx, {"kind": kind.code, "reason": text(reason, "reason")}
        )

    def end_special_procedure(self, ctx: Context, outcome: str) -> None:
        self._check(Command.END_SPECIAL_PROCEDURE, ctx)
        self._append(ev.SpecialProcedureEnded, ctx, {"outcome": text(outcome, "outcome")})

    def suspend(self, ctx: Context, reason: str) -> None:
        """挂起."""
        self._check(Command.SUSPEND, ctx)
        self._append(ev.Suspended, ctx, {"reason": text(reason, "reason")})

    def resume(self, ctx: Context, note: str) -> None:
        """恢复."""
        self._check(Command.RESUME, ctx)
        self._append(ev.Resumed, ctx, {"note": note})

    def extend_deadline(self, ctx: Context, approved_by: str, reason: str) -> None:
        """延期: +10 working days with the agency head's approval, once (Art. 42)."""
        self._check(Command.EXTEND_DEADLINE, ctx)
        if self.extended:
            raise self._refuse(Command.EXTEND_DEADLINE, "the deadline may be extended only once")
        if self.case_type == CaseType.IMMEDIATE.code:
            raise self._refuse(
                Command.EXTEND_DEADLINE, "an immediate case (即办件) cannot be extended"
            )
        payload = {
            "days": EXTENSION_DAYS,
            "approved_by": text(approved_by, "approved_by"),
            "reason": text(reason, "reason"),
        }
        self._append(ev.DeadlineExtended, ctx, payload)

    def conclude(self, ctx: Context, result: ConclusionResult, decision_no: str, note: str) -> None:
        """办结."""
        self._check(Command.CONCLUDE, ctx)
        awaiting = self.status is Status.AWAITING_CORRECTION
        if awaiting != (result is ConclusionResult.NEVER_CORRECTED):
            reason = (
                "a case awaiting correction can only conclude as never corrected (补正不来)"
                if awaiting
                else "only a case awaiting correction concludes as never corrected"
            )
            raise self._refuse(Command.CONCLUDE, reason)
        if result is ConclusionResult.TRANSFERRED:
            raise self._refuse(Command.CONCLUDE, "transfers conclude through a handoff")
        payload = {"result": result.code, "decision_no": decision_no, "note": note}
        self._append(ev.Concluded, ctx, payload)
