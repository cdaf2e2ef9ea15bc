"""The stage model of a case: statuses, commands and the transition table.

The table says in which lifecycle statuses a command may run at all; the
finer rules that depend on what happened before (a correction request only
once, mailing only after the certificate, ...) are guards on `Case` itself.
"""

from __future__ import annotations

from enum import Enum


class Status(Enum):
    """Lifecycle status of a case (办件状态)."""

    SUBMITTED = "submitted"  # 已收件
    PRE_REVIEWED = "pre_reviewed"  # 预审通过
    AWAITING_CORRECTION = "awaiting_correction"  # 补齐补正中
    RETURNED = "returned"  # 预审退回
    ACCEPTED = "accepted"  # 已受理
    REFUSED = "refused"  # 不予受理
    IN_PROCESS = "in_process"  # 办理中
    SPECIAL_PROCEDURE = "special_procedure"  # 特别程序中
    SUSPENDED = "suspended"  # 挂起
    CONCLUDED = "concluded"  # 已办结
    WITHDRAWN = "withdrawn"  # 已撤件

    @property
    def is_final(self) -> bool:
        """No further processing is possible (delivery and rating may follow)."""
        return self in _FINAL


_FINAL = frozenset({Status.RETURNED, Status.REFUSED, Status.CONCLUDED, Status.WITHDRAWN})


class Command(Enum):
    """Everything a node may do to a case."""

    SUBMIT = "submit"  # 申报/收件
    PASS_PRE_REVIEW = "pass_pre_review"  # 预审通过
    RETURN_PRE_REVIEW = "return_pre_review"  # 预审退回
    REQUEST_CORRECTION = "request_correction"  # 补齐补正告知
    SUPPLEMENT_MATERIALS = "supplement_materials"  # 补正材料
    ACCEPT = "accept"  # 受理
    REFUSE_ACCEPTANCE = "refuse_acceptance"  # 不予受理
    RECORD_STEP = "record_step"  # 办理环节
    START_SPECIAL_PROCEDURE = "start_special_procedure"  # 特别程序开始
    END_SPECIAL_PROCEDURE = "end_special_procedure"  # 特别程序结束
    SUSPEND = "suspend"  # 挂起
    RESUME = "resume"  # 恢复
    EXTEND_DEADLINE = "extend_deadline"  # 延期
    CONCLUDE = "conclude"  # 办结
    ISSUE_CERTIFICATE = "issue_certificate"  # 出证
    DISPATCH_BY_MAIL = "dispatch_by_mail"  # 邮寄送达
    COLLECT_AT_WINDOW = "collect_at_window"  # 窗口领取
    CONFIRM_DELIVERY = "confirm_delivery"  # 签收
    WITHDRAW = "withdraw"  # 撤件
    RATE = "rate"  # 好差评
    RECORD_RECTIFICATION = "record_rectification"  # 差评整改
    REQUEST_TRANSFER = "request_transfer"  # 转报 / 下发 / 跨域: the owner hands the case over
    ACCEPT_TRANSFER = "accept_transfer"  # the target takes the case
    REJECT_TRANSFER = "reject_transfer"  # the target declines; ownership returns


_BEFORE_ACCEPTANCE = frozenset({Status.SUBMITTED, Status.PRE_REVIEWED})
_HANDLING = frozenset({Status.ACCEPTED, Status.IN_PROCESS})
_OPEN = frozenset(
    {
        Status.SUBMITTED,
        Status.PRE_REVIEWED,
        Status.AWAITING_CORRECTION,
        Status.ACCEPTED,
        Status.IN_PROCESS,
        Status.SPECIAL_PROCEDURE,
        Status.SUSPENDED,
    }
)

ALLOWED: dict[Command, frozenset[Status]] = {
    Command.SUBMIT: frozenset(),
    Command.PASS_PRE_REVIEW: frozenset({Status.SUBMITTED}),
    Command.RETURN_PRE_REVIEW: frozenset({Status.SUBMITTED}),
    Command.REQUEST_CORRECTION: _BEFORE_ACCEPTANCE,
    Command.SUPPLEMENT_MATERIALS: frozenset({Status.AWAITING_CORRECTION}),
    Command.ACCEPT: _BEFORE_ACCEPTANCE,
    Command.REFUSE_ACCEPTANCE: _BEFORE_ACCEPTANCE,
    Command.RECORD_STEP: _HANDLING,
    Command.START_SPECIAL_PROCEDURE: _HANDLING,
    Command.END_SPECIAL_PROCEDURE: frozenset({Status.SPECIAL_PROCEDURE}),
    Command.SUSPEND: _HANDLING,
    Command.RESUME: frozenset({Status.SUSPENDED}),
    Command.EXTEND_DEADLINE: _HANDLING,
    # From AWAITING_CORRECTION only as 补正不来 (never corrected): a guard.
    Command.CONCLUDE: _HANDLING | {Status.AWAITING_CORRECTION},
    Command.ISSUE_CERTIFICATE: frozenset({Status.CONCLUDED}),
    Command.DISPATCH_BY_MAIL: frozenset({Status.CONCLUDED, Status.REFUSED}),
    Command.COLLECT_AT_WINDOW: frozenset({Status.CONCLUDED, Status.REFUSED}),
    Command.CONFIRM_DELIVERY: frozenset({Status.CONCLUDED, Status.REFUSED}),
    Command.WITHDRAW: _OPEN,
    Command.RATE: frozenset({Status.CONCLUDED, Status.REFUSED, Status.RETURNED}),
    Command.RECORD_RECTIFICATION: frozenset({Status.CONCLUDED, Status.REFUSED, Status.RETURNED}),
    # A case moves for processing or for delivery; one that is over stays put.
    Command.REQUEST_TRANSFER: frozenset(Status)
    - {Status.WITHDRAWN, Status.RETURNED, Status.REFUSED},
    # Only while a transfer is pending, which is not a status: a guard.
    Command.ACCEPT_TRANSFER: frozenset(Status),
    Command.REJECT_TRANSFER: frozenset(Status),
}
"""Statuses in which each command may run; guards on `Case` narrow further."""
