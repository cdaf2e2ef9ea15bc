"""A case's stage rows, made from its trail.

`stage_rows` reads a case's events from version 1 on and gives every row the
case has in each stage table (`tables.py`). It is a pure function of the
trail: the projection calls it again whenever a case's trail grows and
writes only the rows that changed, so a row is the same whichever log
delivered its events first.

Personal data stays sealed: the applicant's name and ID number are written
as `[sealed]` (the events hold them encrypted, and views never open them);
the applicant is identified only by the data subject's pseudonym. Signers and
addresses of a delivery are left out.

Times are Beijing time as `YYYY-MM-DD HH:MM:SS`, the usual form of the
exchange; dates are `YYYY-MM-DD`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import caseledger.ledger.case.events as ev
from caseledger.ledger.codes.vocabulary import (
    ApplicantType,
    CaseType,
    CodeTable,
    ConclusionResult,
    DeliveryMethod,
    Satisfaction,
    SpecialProcedureKind,
    SubmissionChannel,
)
from caseledger.ledger.timelimits.calendar import WorkingCalendar
from caseledger.projections.exchange.tables import (
    ACCEPTANCE,
    MATERIAL,
    PROCESS,
    RESULT,
    SPECIAL,
    StageTable,
)
from caseledger.projections.facts import SYSTEM_ROLE

__all__ = ["ACTIONS", "SEALED", "CaseRows", "Key", "Row", "StageRows", "stage_rows"]

SEALED = "[sealed]"
"""What a sealed personal datum is written as."""

Value = str | int | None
Row = dict[str, Value]
Key = tuple[Value, ...]
StageRows = dict[str, dict[Key, Row]]
"""Per table name, the rows by their key (the key columns' values)."""

ACTIONS: dict[type[ev.CaseEvent], tuple[str, str]] = {
    ev.Submitted: ("01", "收件"),
    ev.PreReviewPassed: ("02", "预审通过"),
    ev.PreReviewReturned: ("03", "预审退回"),
    ev.CorrectionRequested: ("04", "补正告知"),
    ev.MaterialsSupplemented: ("05", "补正受理"),
    ev.Accepted: ("06", "受理"),
    ev.AcceptanceRefused: ("07", "不予受理"),
    ev.StepRecorded: ("08", "办理"),
    ev.TransferRequested: ("09", "转出"),
    ev.TransferAccepted: ("10", "转入"),
    ev.TransferRejected: ("11", "拒绝转入"),
    ev.Concluded: ("12", "办结"),
    ev.CertificateIssued: ("13", "出证"),
    ev.DispatchedByMail: ("14", "邮寄送达"),
    ev.CollectedAtWindow: ("15", "窗口领取"),
    ev.DeliveryConfirmed: ("16", "签收"),
    ev.Withdrawn: ("17", "撤件"),
}
"""业务动作 of a 过程 row per event (the ledger's own codes: the exchange
publishes none). Special procedures, suspension, extension, ratings and
rectification are not steps: they have tables of their own."""

_TABLES = (ACCEPTANCE, PROCESS, SPECIAL, RESULT, MATERIAL)
SUSPENSION = ("11", "挂起")
EXTENSION = ("12", "延期")
_TRANSFER_KINDS = {"up": "转报", "down": "下发", "sideways": "跨域"}
_ACCEPTED, _REFUSED = ("1", "受理"), ("2", "不予受理")


def beijing(moment: datetime) -> str:
    return moment.astimezone(ev.CHINA_TIME).strftime("%Y-%m-%d %H:%M:%S")


def _label(table: type[CodeTable], code: str) -> str:
    for member in table:
        if member.code == code:
            return member.label
    return ""


class CaseRows:
    """The rows of one case as its events are read in order, and what the
    next event needs to know of those before it (kept with the rows, so a
    projection folds each event once: `to_json`, `from_json`)."""

    def __init__(self, calendar: WorkingCalendar) -> None:
        self.calendar = calendar
        self.rows: StageRows = {t.name: {} for t in _TABLES}
        self.version = 0
        self.number = ""
        self.item_name = ""
        self.applied_at = ""
        self.previous_at = ""
        self.submitted: dict[str, Any] = {}
        self.open_specials: list[Key] = []
        self.open_suspension: Key | None = None

    def snapshot(self) -> StageRows:
        """A copy of the rows, to tell later which changed."""
        return {name: {k: dict(r) for k, r in rows.items()} for name, rows in self.rows.items()}

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "number": self.number,
            "item_name": self.item_name,
            "applied_at": self.applied_at,
            "previous_at": self.previous_at,
            "submitted": self.submitted,
            "open_specials": [list(k) for k in self.open_specials],
            "open_suspension": None if self.open_suspension is None else list(self.open_suspension),
            "rows": {name: list(rows.values()) for name, rows in self.rows.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], calendar: WorkingCalendar) -> CaseRows:
        case = cls(calendar)
        case.version = data["version"]
        case.number = data["number"]
        case.item_name = data["item_name"]
        case.applied_at = data["applied_at"]
        case.previous_at = data["previous_at"]
        case.submitted = data["submitted"]
        case.open_specials = [tuple(k) for k in data["open_specials"]]
        suspension = data["open_suspension"]
        case.open_suspension = None if suspension is None else tuple(suspension)
        for table in _TABLES:
            case.rows[table.name] = {
                tuple(row[k] for k in table.key_names): row for row in data["rows"][table.name]
            }
        return case

    def put(self, table: StageTable, event: ev.CaseEvent, key: Key, **values: Value) -> None:
        row: Row = {c.name: (None if c.integer else "") for c in table.columns}
        row.update(values)
        row["case_id"] = str(event.originator_id)
        for name, value in zip(table.key_names[1:], key, strict=True):
            row[name] = value
        row["case_number"] = self.number
        self.rows[table.name][(str(event.originator_id), *key)] = row

    def row(self, table: StageTable, event: ev.CaseEvent, *key: Value) -> Row | None:
        return self.rows[table.name].get((str(event.originator_id), *key))

    def read(self, event: ev.CaseEvent) -> None:
        at = beijing(event.timestamp)
        p = event.payload
        if isinstance(event, ev.Submitted):
            self.number = p["number"]
            self.item_name = p["item"]["name"]
            self.applied_at = at
            # What acceptance reads of the submission; the sealed data stays behind.
            applicant = p["applicant"]
            self.submitted = {
                "channel": p["channel"],
                "item": p["item"],
                "applicant": {"type": applicant["type"], "subject": applicant["subject"]},
            }
            for material in p["materials"]:
                self._material(event, material, at, first="1")
        action = ACTIONS.get(type(event))
        if action is not None:
            self._step(event, action, at)
        self._intake(event, at)
        self._special(event, at)
        self._after_conclusion(event, at)
        self.previous_at = at
        self.version = event.originator_version

    def _intake(self, event: ev.CaseEvent, at: str) -> None:
        """受理 and 材料: acceptance or refusal, corrections, supplements."""
        p = event.payload
        match event:
            case ev.Accepted():
                self._acceptance(event, _ACCEPTED, at, notice_no=p["notice_no"])
            case ev.AcceptanceRefused():
                self._acceptance(
                    event,
                    _REFUSED,
                    at,
                    notice_no=p["notice_no"],
                    refusal_reason=p["reason"],
                    legal_basis=p["legal_basis"],
                )
            case ev.CorrectionRequested():
                for asked in p["materials"]:
                    row = self.row(MATERIAL, event, asked["name"])
                    if row is None:
                        # Asked for and not received yet: a row without 收取时间.
                        self.put(
                            MATERIAL,
                            event,
                            (asked["name"],),
                            seq=len(self.rows[MATERIAL.name]) + 1,
                            department=event.node,
                        )
                        row = self.row(MATERIAL, event, asked["name"])
                    assert row is not None
                    row["correction_reason"] = asked["reason"]
            case ev.MaterialsSupplemented():
                for material in p["materials"]:
                    self._material(event, material, at, first="2")

    def _special(self, event: ev.CaseEvent, at: str) -> None:
        """特别程序: special procedures, suspension, extension."""
        p = event.payload
        match event:
            case ev.SpecialProcedureStarted():
                kind = p["kind"]
                key = (event.originator_version,)
                self.open_specials.append(key)
                self.put(
                    SPECIAL,
                    event,
                    key,
                    kind=kind,
                    kind_label=_label(SpecialProcedureKind, kind),
                    reason=p["reason"],
                    handler=event.operator_id,
                    started_at=at,
                    department=event.node,
                )
            case ev.SpecialProcedureEnded():
                if self.open_specials:
                    row = self.row(SPECIAL, event, *self.open_specials.pop())
                    if row is not None:
                        row.update(ended_at=at, outcome=p["outcome"])
            case ev.Suspended():
                key = (event.originator_version,)
                self.open_suspension = key
                self.put(
                    SPECIAL,
                    event,
                    key,
                    kind=SUSPENSION[0],
                    kind_label=SUSPENSION[1],
                    reason=p["reason"],
                    handler=event.operator_id,
                    started_at=at,
                    department=event.node,
                )
            case ev.Resumed():
                if self.open_suspension is not None:
                    row = self.row(SPECIAL, event, *self.open_suspension)
                    self.open_suspension = None
                    if row is not None:
                        row.update(ended_at=at, outcome=p["note"])
            case ev.DeadlineExtended():
                self.put(
                    SPECIAL,
                    event,
                    (event.originator_version,),
                    kind=EXTENSION[0],
                    kind_label=EXTENSION[1],
                    reason=p["reason"],
                    handler=event.operator_id,
                    approved_by=p["approved_by"],
                    days=p["days"],
                    started_at=at,
                    ended_at=at,
                    outcome=f"延长{p['days']}个工作日",
                    department=event.node,
                )

    def _after_conclusion(self, event: ev.CaseEvent, at: str) -> None:
        """结果: the conclusion, then licence, delivery and rating."""
        p = event.payload
        if isinstance(event, ev.Concluded):
            self.put(
                RESULT,
                event,
                (),
                result=p["result"],
                result_label=_label(ConclusionResult, p["result"]),
                decision_no=p["decision_no"],
                concluded_at=at,
                handler=event.operator_id,
                department=event.node,
            )
            return
        result = self.row(RESULT, event)
        if result is None:
            return
        match event:
            case ev.CertificateIssued():
                result.update(
                    licence_name=self.item_name,
                    licence_number=p["licence_id"],
                    licence_valid_from=_date_text(p["valid_from"]),
                    licence_valid_until=_date_text(p["valid_until"]),
                    issued_at=at,
                )
            case ev.DispatchedByMail():
                result.update(
                    delivery_method=DeliveryMethod.MAIL.code,
                    by_mail="1",
                    carrier=p["carrier"],
                    tracking_no=p["tracking_no"],
                )
            case ev.CollectedAtWindow():
                result.update(
                    delivery_method=DeliveryMethod.WINDOW.code, by_mail="0", delivered_at=at
                )
            case ev.DeliveryConfirmed():
                result.update(delivered_at=at)
            case ev.Rated():
                result.update(
                    satisfaction=p["satisfaction"],
                    satisfaction_label=_label(Satisfaction, p["satisfaction"]),
                    rating_channel=p["channel"],
                    rated_at=at,
                    default_rating="1" if event.operator_role == SYSTEM_ROLE else "0",
                )
            case ev.RectificationRecorded():
                result.update(rectified_at=at)

    def _step(self, event: ev.CaseEvent, action: tuple[str, str], at: str) -> None:
        p = event.payload
        step_name, handler, opinion, outcome = action[1], event.operator_id, "", ""
        match event:
            case ev.StepRecorded():
                step_name, handler, opinion = p["step"], p["handler"], p["opinion"]
                outcome = "1" if p["action"] == "pass" else "2"
            case ev.PreReviewPassed():
                opinion, outcome = p["opinion"], "1"
            case ev.PreReviewReturned():
                opinion, outcome = p["reason"], "2"
            case ev.CorrectionRequested():
                opinion = "；".join(f"{m['name']}：{m['reason']}" for m in p["materials"])
            case ev.AcceptanceRefused() | ev.Withdrawn() | ev.TransferRejected():
                opinion = p["reason"]
            case ev.TransferRequested():
                step_name = _TRANSFER_KINDS.get(p["kind"], action[1])
                opinion = f"{p['reason']}（至{p['target']}）"
            case ev.Concluded():
                opinion = p["note"]
        self.put(
            PROCESS,
            event,
            (event.originator_version,),
            action=action[0],
            action_label=action[1],
            step_name=step_name,
            handler=handler,
            opinion=opinion,
            outcome=outcome,
            started_at=self.previous_at or at,
            ended_at=at,
            department=event.node,
        )

    def _acceptance(
        self, event: ev.CaseEvent, state: tuple[str, str], at: str, **values: Value
    ) -> None:
        p, s = event.payload, self.submitted
        applicant = s.get("applicant") or {}
        item = s.get("item") or {}
        case_type = p.get("case_type", "")
        statutory, promised = p.get("statutory_days"), p.get("promised_days")
        promised_by = ""
        if isinstance(promised, int):
            promised_by = self.calendar.add_working_days(event.on, promised).isoformat()
        self.put(
            ACCEPTANCE,
            event,
            (),
            implementation_code=item.get("implementation_code", ""),
            basic_code=item.get("basic_code", ""),
            item_name=item.get("name", ""),
            channel=s.get("channel", ""),
            channel_label=_label(SubmissionChannel, s.get("channel", "")),
            applied_at=self.applied_at,
            accept_state=state[0],
            accept_state_label=state[1],
            accepted_at=at,
            case_type=case_type,
            case_type_label=_label(CaseType, case_type),
            applicant_type=applicant.get("type", ""),
            applicant_type_label=_label(ApplicantType, applicant.get("type", "")),
            applicant_subject=applicant.get("subject", ""),
            applicant_name=SEALED,
            applicant_id_number=SEALED,
            handler=event.operator_id,
            statutory_days=statutory,
            promised_days=promised,
            promised_by=promised_by,
            department=event.node,
            **values,
        )

    def _material(self, event: ev.CaseEvent, material: dict[str, Any], at: str, first: str) -> None:
        name = material["name"]
        row = self.row(MATERIAL, event, name)
        if row is not None and row["collected_at"]:
            row.update(sha256=material["sha256"], supplemented_at=at)
            return
        if row is not None:  # asked for in a correction, received now
            row.update(sha256=material["sha256"], collected_at=at, collected_in=first)
            return
        self.put(
            MATERIAL,
            event,
            (name,),
            seq=len(self.rows[MATERIAL.name]) + 1,
            sha256=material["sha256"],
            collected_at=at,
            collected_in=first,
            department=event.node,
        )


def _date_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def stage_rows(events: Sequence[ev.CaseEvent], calendar: WorkingCalendar) -> StageRows:
    """Every stage row of one case, from its events in version order from 1."""
    case = CaseRows(calendar)
    for event in events:
        case.read(event)
    return case.rows
