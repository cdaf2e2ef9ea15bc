"""Commands before a decision is taken on acceptance: pre-review, correction, acceptance."""

from __future__ import annotations

from collections.abc import Sequence

from caseledger.ledger.case import events as ev
from caseledger.ledger.case.base import CaseBase, Context, Material, materials_json, text
from caseledger.ledger.case.checks import missing_materials
from caseledger.ledger.case.stages import Command, Status
from caseledger.ledger.codes.vocabulary import (
    CaseType,
)
from caseledger.ledger.errors import InvalidInput
from caseledger.ledger.timelimits.deadlines import TimeLimits


class IntakeCommands(CaseBase):
    """Commands before a decision is taken on acceptance: pre-review, correction, acceptance."""

    # -- before acceptance -------------------------------------------------

    def pass_pre_review(self, ctx: Context, opinion: str) -> None:
        """预审通过 (online submissions only)."""
        self._check(Command.PASS_PRE_REVIEW, ctx)
        if not self.needs_pre_review:
            raise self._refuse(
                Command.PASS_PRE_REVIEW, "window submissions are checked at the window"
            )
        self._append(ev.PreReviewPassed, ctx, {"opinion": text(opinion, "opinion")})

    def return_pre_review(self, ctx: Context, reason: str) -> None:
        """预审退回."""
        self._check(Command.RETURN_PRE_REVIEW, ctx)
        if not self.needs_pre_review:
            raise self._refuse(
                Command.RETURN_PRE_REVIEW, "window submissions are checked at the window"
            )
        self._append(ev.PreReviewReturned, ctx, {"reason": text(reason, "reason")})

    def request_correction(self, ctx: Context, missing: list[tuple[str, str]]) -> None:
        """补齐补正: list every missing or wrong material, once (Art. 32)."""
        self._check(Command.REQUEST_CORRECTION, ctx)
        if self.correction_requested:
            raise self._refuse(
                Command.REQUEST_CORRECTION, "a correction may be requested only once"
            )
        if not missing:
            raise InvalidInput.single("materials", "list at least one material to correct")
        listed = [
            {
                "name": text(name, f"materials[{i}].name"),
                "reason": text(why, f"materials[{i}].reason"),
            }
            for i, (name, why) in enumerate(missing)
        ]
        self._append(ev.CorrectionRequested, ctx, {"materials": listed})

    def supplement_materials(self, ctx: Context, materials: list[Material]) -> None:
        """补正材料."""
        self._check(Command.SUPPLEMENT_MATERIALS, ctx)
        self._append(
            ev.MaterialsSupplemented, ctx, {"materials": materials_json(materials, "materials")}
        )

    def accept(
        self,
        ctx: Context,
        notice_no: str,
        case_type: CaseType,
        limits: TimeLimits,
        *,
        required_materials: Sequence[str] = (),
    ) -> None:
        """受理: the written acceptance sets the case type and the time limits.

        Only with every material the item requires (`required_materials`, the
        catalogue's 申请材料): a case missing one is corrected (补齐补正) or
        refused, never accepted incomplete."""
        self._check(Command.ACCEPT, ctx)
        if self.needs_pre_review and self.status is Status.SUBMITTED:
            raise self._refuse(Command.ACCEPT, "an online submission must pass pre-review first")
        missing = missing_materials(self.materials, required_materials)
        if missing:
            raise self._refuse(
                Command.ACCEPT,
                f"required materials missing: {'、'.join(missing)} "
                "(request a correction or refuse acceptance)",
            )
        payload = {
            "notice_no": text(notice_no, "notice_no"),
            "case_type": case_type.code,
            "statutory_days": limits.statutory_days,
            "promised_days": limits.promised_days,
        }
        self._append(ev.Accepted, ctx, payload)

    def refuse_acceptance(
        self, ctx: Context, notice_no: str, reason: str, legal_basis: str
    ) -> None:
        """不予受理, with reason and legal basis."""
        self._check(Command.REFUSE_ACCEPTANCE, ctx)
        payload = {
            "notice_no": text(notice_no, "notice_no"),
            "reason": text(reason, "reason"),
            "legal_basis": text(legal_basis, "legal_basis"),
        }
        self._append(ev.AcceptanceRefused, ctx, payload)
