"""`caseledger case show` shows every fact the trail records, and its JSON has numbers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from caseledger.cli.case_record import Entry, rectification_text
from caseledger.nodes.service.server import RunningNode
from tests.cli.clerk import (
    APPLICATION,
    BUSINESS_LICENCE_COPY,
    LICENCE_PDF,
    licence_id,
    published,
    running_node,
    submitted,
    today,
)
from tests.cli.test_cli_end_to_end import Operator


@pytest.fixture
def node(tmp_path: Path) -> Iterator[RunningNode]:
    yield from running_node(tmp_path / "node")


def a_whole_day(run: Operator, folder: Path) -> str:
    """One case through correction, suspension, decision, certificate, mail, a bad
    rating and its rectification."""
    published(run, folder)
    number = submitted(run, f"食品经营许可申请书={APPLICATION}")
    run.ok("case", "request-correction", number, "--material", "营业执照复印件=未提交")
    run.ok("case", "supplement", number, "--material", f"营业执照复印件={BUSINESS_LICENCE_COPY}")
    concluded_day = today().isoformat()
    run.ok("case", "accept", number, "--notice-no", "历下受字〔2026〕001号")
    run.ok("case", "suspend", number, "--reason", "等待消防意见")
    run.ok("case", "resume", number, "--note", "消防意见已到")
    run.ok(
        "case", "step", number, "--step", "审查", "--handler", "王芳", "--opinion", "材料齐全",
        "--action", "pass", role="reviewer",
    )  # fmt: skip
    run.ok(
        "case", "conclude", number, "--result", "approved", "--decision-no", "历下准字001",
        role="approver",
    )  # fmt: skip
    run.ok(
        "case", "certificate", number, "--licence-id", licence_id(1),
        "--file-sha256", LICENCE_PDF, "--valid-from", concluded_day,
    )  # fmt: skip
    run.ok("case", "mail", number, "--carrier", "EMS", "--tracking-no", "1100123456789",
           "--address", "济南市历下区解放路1号")  # fmt: skip
    run.ok("case", "delivered", number, "--signer", "张三", "--received-on", concluded_day)
    run.ok(
        "case", "rate", number, "--satisfaction", "5", "--channel", "sms",
        "--comment", "等了很久",
    )  # fmt: skip
    run.ok("case", "rectify", number, "--response", "已致歉", "--fix", "增设取件提醒")
    return number


def test_show_prints_every_fact_the_trail_records(node: RunningNode, tmp_path: Path) -> None:
    run = Operator(node.address)
    number = a_whole_day(run, tmp_path)
    shown = run.ok("case", "show", number).stdout
    for fact in (
        "食品经营许可申请书; 营业执照复印件  (齐全 complete)",  # the supplemented one too
        "营业执照复印件: 未提交",  # the correction asked for
        "审查 by 王芳: passed on 通过; opinion 材料齐全",
        "等待消防意见",  # the suspension's reason
        "消防意见已到",
        "准予  decision no. 历下准字001",
        licence_id(1),
        "EMS tracking no. 1100123456789",
        f"received on {today().isoformat()}",
        "非常不满意 via 短信; comment 等了很久",
        "response 已致歉; fix 增设取件提醒",
        "挂起 Suspended",
        "差评整改 RectificationRecorded",
    ):
        assert fact in shown, fact
    assert "张三" not in shown  # personal data stays sealed or masked
    assert "rectification  done " in shown.replace("整改 ", "")


def test_show_json_has_numbers_and_every_events_content(node: RunningNode, tmp_path: Path) -> None:
    run = Operator(node.address)
    number = a_whole_day(run, tmp_path)
    document = run.json("case", "show", number)
    assert document["version"] == 13
    assert isinstance(document["deadline"]["working_days_used"], int)
    assert document["rectification"].startswith("done ")
    stages = [entry["stage"] for entry in document["record"]]
    assert stages[0] == "Submitted"
    assert stages[-1] == "RectificationRecorded"
    content = {entry["stage"]: entry["content"] for entry in document["record"]}
    assert content["DispatchedByMail"]["tracking_no"] == "1100123456789"
    assert content["Concluded"]["decision_no"] == "历下准字001"
    assert content["StepRecorded"]["handler"] == "王芳"
    assert content["Suspended"]["reason"] == "等待消防意见"
    assert "张三" not in str(document)


def entry(stage: str, **content: object) -> Entry:
    return Entry(1, stage, "2026-03-02 09:00:00", "370102000000", "c/r", "", dict(content))


def test_a_rectified_bad_rating_does_not_read_like_an_unrated_case() -> None:
    rated = entry("Rated", bad=True)
    fixed = entry("RectificationRecorded", response="已致歉", fix="增设提醒")
    assert rectification_text([], open_now=False) == "-"
    assert rectification_text([rated], open_now=True).startswith("open")
    assert rectification_text([rated, fixed], open_now=False).startswith("done ")
    assert rectification_text([entry("Rated", bad=False)], open_now=False).startswith("not needed")


def test_show_names_the_required_materials_a_case_lacks(node: RunningNode, tmp_path: Path) -> None:
    run = Operator(node.address)
    published(run, tmp_path)
    number = submitted(run, f"食品经营许可申请书={APPLICATION}")
    shown = run.ok("case", "show", number).stdout
    assert "食品经营许可申请书  (缺 missing: 营业执照复印件)" in shown
    document = run.json("case", "show", number)
    assert document["materials"] == ["食品经营许可申请书"]
    assert document["materials_missing"] == ["营业执照复印件"]
