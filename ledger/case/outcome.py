"""Commands after the decision: certificate, delivery, withdrawal, rating and rectification."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from caseledger.ledger.case import events as ev
from caseledger.ledger.case.base import SHA256_HEX, CaseBase, Context, text
from caseledger.ledger.case.checks import day_not_before, day_not_in_future
from caseledger.ledger.case.stages import Command
from caseledger.ledger.codes.vocabulary import (
    ConclusionResult,
    RatingChannel,
    Satisfaction,
)
from caseledger.ledger.errors import InvalidInput
from caseledger.ledger.personal.sealing import Sealed

LicenceHolder = Callable[[str], str | None]
"""The number of the case that holds a licence id (电子证照标识), or None."""


class OutcomeCommands(CaseBase):
    """Commands after the decision: certificate, delivery, withdrawal, rating and rectification."""

    # -- after the decision ------------------------------------------------

    def issue_certificate(
        self,
        ctx: Context,
        licence_id: str,
        file_sha256: str,
        valid_from: date,
        valid_until: date | None,
        *,
        licence_holder: LicenceHolder | None = None,
    ) -> None:
        """出证: only for an approved case, once, under a licence id no other case holds.

        `licence_holder` names the case that already holds a licence id, if
        any; the caller decides how far that reaches (the cases its node holds).
        """
        self._check(Command.ISSUE_CERTIFICATE, ctx)
        if self.result != ConclusionResult.APPROVED.code:
            raise self._refuse(
                Command.ISSUE_CERTIFICATE, "only an approved case gets a certificate"
            )
        if not self.item.get("issues_certificate"):
            raise self._refuse(Command.ISSUE_CERTIFICATE, "the item issues no certificate")
        if self.certificate:
            raise self._refuse(Command.ISSUE_CERTIFICATE, "the certificate was already issued")
        if not SHA256_HEX.match(file_sha256):
            raise InvalidInput.single("file_sha256", "must be 64 lower-case hex digits")
        if valid_until is not None and valid_until < valid_from:
            raise InvalidInput.single("valid_until", "must not be before valid_from")
        holder = licence_holder(licence_id) if licence_holder is not None else None
        if holder is not None and holder != self.number:
            raise InvalidInput.single(
                "licence_id", f"{licence_id} was already issued for case {holder}"
            )
        payload = {
            "licence_id": text(licence_id, "licence_id"),
            "file_sha256": file_sha256,
            "valid_from": valid_from.isoformat(),
            "valid_until": None if valid_until is None else valid_until.isoformat(),
        }
        self._append(ev.CertificateIssued, ctx, payload)

    def _check_deliverable(self, command: Command, ctx: Context) -> None:
        self._check(command, ctx)
        if self.delivery:
            raise self._refuse(command, "the result was already handed over")
        if (
            self.result == ConclusionResult.APPROVED.code
            and self.item.get("issues_certificate")
            and not self.certificate
        ):
            raise self._refuse(command, "the certificate has not been issued yet")

    def dispatch_by_mail(
        self, ctx: Context, carrier: str, tracking_no: str, address: Sealed
    ) -> None:
        """邮寄送达."""
        self._check_deliverable(Command.DISPATCH_BY_MAIL, ctx)
        payload = {
            "carrier": text(carrier, "carrier"),
            "tracking_no": text(tracking_no, "tracking_no"),
            "address": address.to_json(),
        }
        self._append(ev.DispatchedByMail, ctx, payload)

    def collect_at_window(self, ctx: Context, signer: Sealed) -> None:
        """窗口领取."""
        self._check_deliverable(Command.COLLECT_AT_WINDOW, ctx)
        self._append(ev.CollectedAtWindow, ctx, {"signer": signer.to_json()})

    def confirm_delivery(self, ctx: Context, signer: Sealed, received_on: date) -> None:
        """签收 of a mailed result: once, on a day between its dispatch and today."""
        self._check(Command.CONFIRM_DELIVERY, ctx)
        if self.collected:
            raise self._refuse(
                Command.CONFIRM_DELIVERY,
                "the result was collected at the window; nothing was dispatched by mail",
            )
        if self.delivery == "delivered":
            on = f" on {self.received_on.isoformat()}" if self.received_on else ""
            raise self._refuse(
                Command.CONFIRM_DELIVERY, f"the mailed result was already signed for{on}"
            )
        if self.delivery != "dispatched":
            raise self._refuse(Command.CONFIRM_DELIVERY, "nothing was dispatched by mail")
        day_not_in_future(received_on, ctx.at, "received_on")
        day_not_before(received_on, self.dispatched_on, "received_on", "dispatch")
        payload = {"signer": signer.to_json(), "received_on": received_on.isoformat()}
        self._append(ev.DeliveryConfirmed, ctx, payload)

    def withdraw(self, ctx: Context, reason: str) -> None:
        """撤件, by the applicant, before conclusion."""
        self._check(Command.WITHDRAW, ctx)
        self._append(ev.Withdrawn, ctx, {"reason": text(reason, "reason")})

    def rate(
        self,
        ctx: Context,
        satisfaction: Satisfaction,
        channel: RatingChannel,
        comment: str,
        details: list[str],
    ) -> None:
        """好差评: once, after conclusion; a bad rating needs a comment or detail."""
        self._check(Command.RATE, ctx)
        if self.rating:
            raise self._refuse(Command.RATE, "the case was already rated")
        if satisfaction.is_bad and not (comment.strip() or any(d.strip() for d in details)):
            raise InvalidInput.single(
                "comment", "a bad rating must carry a comment or a chosen detail"
            )
        payload = {
            "satisfaction": satisfaction.code,
            "label": satisfaction.label,
            "channel": channel.code,
            "comment": comment,
            "details": list(details),
            "bad": satisfaction.is_bad,
        }
        self._append(ev.Rated, ctx, payload)

    def record_rectification(self, ctx: Context, response: str, fix: str) -> None:
        """差评整改."""
        self._check(Command.RECORD_RECTIFICATION, ctx)
        if not self.rectification_open:
            raise self._refuse(Command.RECORD_RECTIFICATION, "no bad rating awaits rectification")
        payload = {"response": text(response, "response"), "fix": text(fix, "fix")}
        self._append(ev.RectificationRecorded, ctx, payload)
