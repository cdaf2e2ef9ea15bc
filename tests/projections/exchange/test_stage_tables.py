"""The district's exchange of the fixed day (`day.py`), table by table, against
rows written out by hand from the day's paths.

Times are Beijing time; each act of a path is a minute after the one before,
after the path's working days have passed (7 calendar days for 5).
"""

# The expected rows are tables: one row a line where it fits, Chinese text and all.
# ruff: noqa: E501

from __future__ import annotations

import hashlib

import pytest

from caseledger.projections.exchange import STAGE_TABLES, ExchangeProjection, Row, table_named
from caseledger.projections.projection import AUTHORED, RECEIVED
from tests.ledger.case.case_paths import APPLICANT
from tests.projections.exchange.day import (
    DISTRICT,
    STREET,
    day_events,
    district_exchange,
    number,
)
from tests.projections.stores import ViewStore

CLERK = "op-window_clerk"
ITEM = ("11370102MB285901374370100200001", "370100200001", "食品经营许可证核发")


def _exported(projection: ExchangeProjection, table: str) -> list[Row]:
    stage = table_named(table)
    assert stage is not None
    head = projection.exchange.head()
    return [c.row for c in projection.exchange.changes(stage, since=0, upto=head)]


@pytest.fixture
def day(views_store: ViewStore) -> ExchangeProjection:
    """The district's exchange of the whole day, in each store."""
    stores, projection = district_exchange(day_events(), views_store)
    stores.commit_all()
    for log in (AUTHORED, RECEIVED):
        stores.deliver(projection, log, 1000)
    return projection


def _by_case(rows: list[Row], *columns: str) -> set[tuple[object, ...]]:
    return {(str(r["case_number"])[-1], *(r[c] for c in columns)) for r in rows}


def test_acceptance_has_a_row_per_case_accepted_or_refused(day: ExchangeProjection) -> None:
    rows = _exported(day, "acceptance")
    columns = [c.name for c in STAGE_TABLES[0].columns if c.name != "case_id"]
    assert _by_case(rows, *columns) == {
        # case, number, item (3), channel, applied, state, accepted, notice, type,
        # applicant type, subject, name, id number, handler, limits, promised by,
        # refusal reason and basis, department
        ("1", number("A"), *ITEM, "2", "网上", "2026-03-02 09:01:00", "1", "受理",
         "2026-03-07 09:05:00", "受〔2026〕1号", "2", "承诺件", "1", "自然人",
         APPLICANT.subject, "[sealed]", "[sealed]", CLERK, 20, 10, "2026-03-20", "", "",
         STREET),
        ("2", number("B"), *ITEM, "1", "窗口", "2026-03-02 10:01:00", "1", "受理",
         "2026-03-02 10:02:00", "受〔2026〕1号", "2", "承诺件", "1", "自然人",
         APPLICANT.subject, "[sealed]", "[sealed]", CLERK, 20, 10, "2026-03-16", "", "",
         STREET),
        ("3", number("C"), *ITEM, "1", "窗口", "2026-03-02 11:01:00", "2", "不予受理",
         "2026-03-03 11:02:00", "不受〔2026〕7号", "", "", "1", "自然人",
         APPLICANT.subject, "[sealed]", "[sealed]", CLERK, None, None, "", "不属于本机关",
         "第三十二条", DISTRICT),
        ("4", number("D"), *ITEM, "1", "窗口", "2026-03-02 12:01:00", "1", "受理",
         "2026-03-02 12:04:00", "受〔2026〕1号", "2", "承诺件", "1", "自然人",
         APPLICANT.subject, "[sealed]", "[sealed]", CLERK, 20, 10, "2026-03-16", "", "",
         DISTRICT),
    }  # fmt: skip


def test_process_has_a_row_per_step_of_every_case_with_its_start_and_end(
    day: ExchangeProjection,
) -> None:
    rows = _exported(day, "process")
    got = _by_case(
        rows, "seq", "action", "step_name", "handler", "opinion", "outcome",
        "started_at", "ended_at", "department",
    )  # fmt: skip
    assert got == {
        ("1", 1, "01", "收件", CLERK, "", "", "2026-03-02 09:01:00", "2026-03-02 09:01:00", STREET),
        ("1", 2, "02", "预审通过", CLERK, "预审通过", "1", "2026-03-02 09:01:00",
         "2026-03-02 09:02:00", STREET),
        ("1", 3, "04", "补正告知", CLERK, "营业执照复印件：未盖章", "", "2026-03-02 09:02:00",
         "2026-03-03 09:03:00", STREET),
        ("1", 4, "05", "补正受理", CLERK, "", "", "2026-03-03 09:03:00",
         "2026-03-07 09:04:00", STREET),
        ("1", 5, "06", "受理", CLERK, "", "", "2026-03-07 09:04:00", "2026-03-07 09:05:00", STREET),
        ("1", 8, "12", "办结", CLERK, "", "", "2026-03-14 09:07:00", "2026-03-21 09:08:00", STREET),
        ("1", 9, "13", "出证", CLERK, "", "", "2026-03-21 09:08:00", "2026-03-21 09:09:00", STREET),
        ("1", 10, "14", "邮寄送达", CLERK, "", "", "2026-03-21 09:09:00",
         "2026-03-22 09:10:00", STREET),
        ("1", 11, "16", "签收", CLERK, "", "", "2026-03-22 09:10:00", "2026-03-24 09:11:00", STREET),
        ("2", 1, "01", "收件", CLERK, "", "", "2026-03-02 10:01:00", "2026-03-02 10:01:00", STREET),
        ("2", 2, "06", "受理", CLERK, "", "", "2026-03-02 10:01:00", "2026-03-02 10:02:00", STREET),
        ("2", 6, "08", "审查", "李四", "符合条件", "1", "2026-03-10 10:05:00",
         "2026-03-11 10:06:00", STREET),
        ("3", 1, "01", "收件", CLERK, "", "", "2026-03-02 11:01:00", "2026-03-02 11:01:00",
         DISTRICT),
        ("3", 2, "07", "不予受理", CLERK, "不属于本机关", "", "2026-03-02 11:01:00",
         "2026-03-03 11:02:00", DISTRICT),
        ("4", 1, "01", "收件", CLERK, "", "", "2026-03-02 12:01:00", "2026-03-02 12:01:00", STREET),
        ("4", 2, "09", "转报", CLERK, f"转报上级审批（至{DISTRICT}）", "", "2026-03-02 12:01:00",
         "2026-03-02 12:02:00", STREET),
        ("4", 3, "10", "转入", CLERK, "", "", "2026-03-02 12:02:00", "2026-03-02 12:03:00",
         DISTRICT),
        ("4", 4, "06", "受理", CLERK, "", "", "2026-03-02 12:03:00", "2026-03-02 12:04:00",
         DISTRICT),
        ("4", 5, "08", "审查", "李四", "符合条件", "1", "2026-03-02 12:04:00",
         "2026-03-04 12:05:00", DISTRICT),
        ("4", 6, "12", "办结", CLERK, "", "", "2026-03-04 12:05:00", "2026-03-06 12:06:00",
         DISTRICT),
        ("4", 7, "13", "出证", CLERK, "", "", "2026-03-06 12:06:00", "2026-03-06 12:07:00",
         DISTRICT),
        ("4", 8, "09", "下发", CLERK, f"下发送达（至{STREET}）", "", "2026-03-06 12:07:00",
         "2026-03-06 12:08:00", DISTRICT),
        ("4", 9, "10", "转入", CLERK, "", "", "2026-03-06 12:08:00", "2026-03-06 12:09:00", STREET),
        ("4", 10, "15", "窗口领取", CLERK, "", "", "2026-03-06 12:09:00",
         "2026-03-07 12:10:00", STREET),
    }  # fmt: skip


def test_special_procedures_suspension_and_extension_are_rows_with_their_spans(
    day: ExchangeProjection,
) -> None:
    rows = _exported(day, "special")
    got = _by_case(
        rows, "seq", "kind", "kind_label", "reason", "handler", "approved_by", "days",
        "started_at", "ended_at", "outcome", "department",
    )  # fmt: skip
    assert got == {
        ("1", 6, "5", "实地核查", "核查", CLERK, "", None, "2026-03-09 09:06:00",
         "2026-03-14 09:07:00", "符合", STREET),
        ("2", 3, "11", "挂起", "申请人申请暂停", CLERK, "", None, "2026-03-04 10:03:00",
         "2026-03-08 10:04:00", "", STREET),
        ("2", 5, "12", "延期", "需技术审查", CLERK, "王局长", 10, "2026-03-10 10:05:00",
         "2026-03-10 10:05:00", "延长10个工作日", STREET),
    }  # fmt: skip


def test_results_carry_licence_delivery_and_rating(day: ExchangeProjection) -> None:
    rows = _exported(day, "result")
    columns = [c.name for c in STAGE_TABLES[3].columns if c.name not in ("case_id", "case_number")]
    assert _by_case(rows, *columns) == {
        ("1", "1", "准予", "审批〔2026〕18号", "2026-03-21 09:08:00", CLERK, ITEM[2], "JY1",
         "2026-03-21", "", "2026-03-21 09:09:00", "1", "1", "EMS", "1100123",
         "2026-03-24 09:11:00", "4", "不满意", "1", "2026-03-24 09:12:00", "0",
         "2026-03-28 09:13:00", STREET),
        ("4", "1", "准予", "审批〔2026〕18号", "2026-03-06 12:06:00", CLERK, ITEM[2], "JY1",
         "2026-03-06", "", "2026-03-06 12:07:00", "2", "0", "", "", "2026-03-07 12:10:00",
         "", "", "", "", "", "", DISTRICT),
    }  # fmt: skip


def _sha(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def test_materials_received_asked_for_and_supplied_again(day: ExchangeProjection) -> None:
    rows = _exported(day, "material")
    got = _by_case(
        rows, "name", "seq", "sha256", "collected_at", "collected_in", "correction_reason",
        "supplemented_at", "department",
    )  # fmt: skip
    form = "食品经营许可申请书"
    assert got == {
        ("1", form, 1, _sha(form), "2026-03-02 09:01:00", "1", "", "", STREET),
        ("1", "营业执照复印件", 2, "", "", "", "未盖章", "", STREET),
        ("1", "营业执照（盖章）", 3, _sha("营业执照（盖章）"), "2026-03-07 09:04:00", "2", "", "",
         STREET),
        ("2", form, 1, _sha(form), "2026-03-02 10:01:00", "1", "", "", STREET),
        ("3", form, 1, _sha(form), "2026-03-02 11:01:00", "1", "", "", DISTRICT),
        ("4", form, 1, _sha(form), "2026-03-02 12:01:00", "1", "", "", STREET),
    }  # fmt: skip


def test_no_personal_datum_leaves_sealed(day: ExchangeProjection) -> None:
    projection = day
    for stage in STAGE_TABLES:
        for change in projection.exchange.changes(stage, since=0, upto=10**9):
            text = repr(change.row)
            for secret in ("张三", "济南市历下区解放路1号", '"ct"', 'sealed": '):
                assert secret not in text
