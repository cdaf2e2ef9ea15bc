"""The stage tables of the upward exchange (办件信息汇聚): names, columns, keys.

Upper platforms collect 办件 data stage by stage: 受理, 过程, 特别程序, 结果
and 材料. Each table here is declared once — its stable name, the exchange's
field name (Chinese) and meaning of every column — and the store's DDL, the
export's headers and docs/exchange.md all follow this declaration.

Every table starts with the case's id and its key columns, and ends with the
three columns of synchronisation: `department` (the division code of the node
that acted, by which a subtree is selected), `first_batch` (the batch that
wrote the row first) and `sync_batch` (the batch that wrote it last).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ACCEPTANCE",
    "MATERIAL",
    "PROCESS",
    "RESULT",
    "SPECIAL",
    "STAGE_TABLES",
    "Column",
    "StageTable",
    "table_named",
]


@dataclass(frozen=True)
class Column:
    """One column: its stable name, the exchange's field name and what it holds."""

    name: str
    field: str
    meaning: str
    integer: bool = False


@dataclass(frozen=True)
class StageTable:
    """One stage table: `name` is stable (the export's file and stream name)."""

    name: str
    stage: str
    key: tuple[Column, ...]
    data: tuple[Column, ...]

    @property
    def sql_name(self) -> str:
        return f"exchange_{self.name}"

    @property
    def key_names(self) -> tuple[str, ...]:
        return ("case_id", *(c.name for c in self.key))

    @property
    def data_names(self) -> tuple[str, ...]:
        return (*(c.name for c in self.data), "department")

    @property
    def columns(self) -> tuple[Column, ...]:
        """Every column a row carries, in order, without the batch columns."""
        return (_CASE_ID, *self.key, *self.data, _DEPARTMENT)


_CASE_ID = Column("case_id", "办件唯一标识", "the case's UUID in the ledger")
_DEPARTMENT = Column(
    "department", "办理部门", "12-digit division code of the node that acted (受理/办理/办结部门)"
)
_NUMBER = Column("case_number", "办件编号", "the case number, 26 digits")
_SEQ = Column("seq", "序号", "the case event's version that wrote the row first", integer=True)

ACCEPTANCE = StageTable(
    "acceptance",
    "受理",
    (),
    (
        _NUMBER,
        Column("implementation_code", "实施编码", "the item's implementation code (31)"),
        Column("basic_code", "基本编码", "the item's basic code (12)"),
        Column("item_name", "事项名称", "the item's name"),
        Column("channel", "申报来源", "submission channel code"),
        Column("channel_label", "申报来源名称", "its label"),
        Column("applied_at", "申请时间", "when the submission was received"),
        Column("accept_state", "受理状态", "1 受理, 2 不予受理"),
        Column("accept_state_label", "受理状态名称", "its label"),
        Column("accepted_at", "受理时间", "when it was accepted or refused"),
        Column("notice_no", "受理文书编号", "the written notice's number"),
        Column("case_type", "办件类型", "case type code (1 即办件, 2 承诺件, 4 上报件, 9 其他)"),
        Column("case_type_label", "办件类型名称", "its label"),
        Column("applicant_type", "申请人类型", "applicant type code"),
        Column("applicant_type_label", "申请人类型名称", "its label"),
        Column("applicant_subject", "申请人主体标识", "the data subject's pseudonym (keyed hash)"),
        Column("applicant_name", "申请人名称", "sealed: the text [sealed]"),
        Column("applicant_id_number", "申请人证件号码", "sealed: the text [sealed]"),
        Column("handler", "办理人", "the operator who accepted or refused"),
        Column("statutory_days", "法定时限", "working days; empty when refused", integer=True),
        Column("promised_days", "承诺时限", "working days; empty when refused", integer=True),
        Column("promised_by", "承诺办结时间", "date: acceptance day + 承诺时限 working days"),
        Column("refusal_reason", "不予受理原因", "why acceptance was refused"),
        Column("legal_basis", "不予受理依据", "the legal basis of the refusal"),
    ),
)

PROCESS = StageTable(
    "process",
    "过程",
    (_SEQ,),
    (
        _NUMBER,
        Column("action", "业务动作", "action code (docs/exchange.md)"),
        Column("action_label", "业务动作名称", "its label"),
        Column("step_name", "环节名称", "the step's name (审查, 审核, 审批, 决定 ...)"),
        Column("handler", "办理人", "the operator, or the handler a step names"),
        Column("opinion", "办理意见", "the opinion or reason given"),
        Column("outcome", "办理结果", "1 通过, 2 退回; empty when the action has none"),
        Column("started_at", "开始时间", "when the case came to this step (the event before)"),
        Column("ended_at", "结束时间", "when the step was done"),
    ),
)

SPECIAL = StageTable(
    "special",
    "特别程序",
    (_SEQ,),
    (
        _NUMBER,
        Column("kind", "特别程序类型", "1-5 特别程序 kinds, 11 挂起, 12 延期"),
        Column("kind_label", "特别程序类型名称", "its label"),
        Column("reason", "启动理由", "why it started"),
        Column("handler", "办理人", "the operator who started it"),
        Column("approved_by", "批准人", "who approved an extension"),
        Column("days", "时长", "working days added by an extension", integer=True),
        Column("started_at", "开始时间", "when it started"),
        Column("ended_at", "结束时间", "when it ended; empty while running"),
        Column("outcome", "特别程序结果", "its outcome (or the note on resuming)"),
    ),
)

RESULT = StageTable(
    "result",
    "结果",
    (),
    (
        _NUMBER,
        Column("result", "办结结果", "conclusion result code"),
        Column("result_label", "办结结果名称", "its label"),
        Column("decision_no", "决定文书编号", "the decision's number"),
        Column("concluded_at", "办结时间", "when it was concluded"),
        Column("handler", "办理人", "the operator who concluded it"),
        Column("licence_name", "结果证照名称", "the item's name, when a licence was issued"),
        Column("licence_number", "结果证照编号", "the e-licence identifier"),
        Column("licence_valid_from", "证照有效期起", "date"),
        Column("licence_valid_until", "证照有效期止", "date; empty: no end"),
        Column("issued_at", "出证时间", "when the licence was issued"),
        Column("delivery_method", "送达方式", "1 邮寄, 2 窗口领取; empty until handed over"),
        Column("by_mail", "是否快递递送", "1 mailed, 0 not; empty until handed over"),
        Column("carrier", "快递公司", "the carrier of a mailed result"),
        Column("tracking_no", "快递单号", "its tracking number"),
        Column("delivered_at", "送达时间", "collected, or the receipt of a mailed result"),
        Column("satisfaction", "满意度", "GB/T 39046 numbering: 1 非常满意 ... 5 非常不满意"),
        Column("satisfaction_label", "满意度名称", "its label"),
        Column("rating_channel", "评价渠道", "rating channel code"),
        Column("rated_at", "评价时间", "when it was rated"),
        Column("default_rating", "是否默认评价", "1 filled in by the platform, 0 by the applicant"),
        Column("rectified_at", "差评整改时间", "when a bad rating's rectification was recorded"),
    ),
)

MATERIAL = StageTable(
    "material",
    "材料",
    (Column("name", "材料名称", "the material's name"),),
    (
        _NUMBER,
        Column("seq", "材料序号", "order of first appearance in the case, from 1", integer=True),
        Column("sha256", "材料摘要", "hex SHA-256 of the material as last received"),
        Column("collected_at", "收取时间", "when it was first received"),
        Column("collected_in", "收取环节", "1 收件, 2 补正"),
        Column("correction_reason", "补正原因", "why a correction was asked for, if it was"),
        Column("supplemented_at", "补正时间", "when it was supplied again"),
    ),
)

STAGE_TABLES: tuple[StageTable, ...] = (ACCEPTANCE, PROCESS, SPECIAL, RESULT, MATERIAL)


def table_named(name: str) -> StageTable | None:
    for table in STAGE_TABLES:
        if table.name == name:
            return table
    return None
