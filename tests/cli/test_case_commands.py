"""Case commands: options become the right request, sent to the right RPC."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from caseledger.cli.case import COMMANDS
from caseledger.cli.catalogue import catalogue
from caseledger.cli.main import cli
from caseledger.cli.subject import subject
from caseledger.v1 import ledger_pb2, types_pb2
from tests.cli.fakes import CASE_ID, CASE_NUMBER, FakeLedger

_SERVICE = ledger_pb2.DESCRIPTOR.services_by_name["LedgerService"]
_DIGEST = hashlib.sha256(b"application form").hexdigest()


def run(ledger: FakeLedger, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), obj=ledger.connect, env=env)


def test_every_case_command_names_an_rpc_whose_request_it_builds() -> None:
    for command in COMMANDS:
        method = _SERVICE.methods_by_name[command.rpc]
        assert method.input_type.full_name == command.request_type.DESCRIPTOR.full_name


def test_every_rpc_that_takes_a_command_has_a_case_command() -> None:
    commanded = {
        method.name for method in _SERVICE.methods if "meta" in method.input_type.fields_by_name
    }
    # Erasure is not a case command: it is `caseledger subject erase`; publishing
    # an item is `caseledger catalogue publish`.
    assert commanded == {command.rpc for command in COMMANDS} | {"EraseSubject", "PublishItem"}
    assert "erase" in subject.commands
    assert "publish" in catalogue.commands


def test_transfer_names_the_target_and_reports_the_outcome_and_new_owner() -> None:
    ledger = FakeLedger()
    ledger.answers["Transfer"] = ledger_pb2.TransferResponse(
        result=types_pb2.CommandResult(case_id=CASE_ID, case_number=CASE_NUMBER, version=4),
        outcome=types_pb2.TRANSFER_OUTCOME_ACCEPTED,
        owner="370124000000",
    )
    result = run(
        ledger, "case", "transfer", CASE_NUMBER,
        "--target", "370124000000", "--reason", "县级事项，转报平阴县", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    request: ledger_pb2.TransferRequest = ledger.only_request()
    assert (request.case, request.target, request.reason) == (
        CASE_NUMBER,
        "370124000000",
        "县级事项，转报平阴县",
    )
    reported = json.loads(result.output)
    assert (reported["outcome"], reported["owner"], reported["version"]) == (
        "accepted",
        "370124000000",
        4,
    )


def test_every_option_fills_a_field_of_its_request() -> None:
    for command in COMMANDS:
        for opt in command.options:
            descriptor = command.request_type.DESCRIPTOR
            *path, name = opt.target.split(".")
            for part in path:
                nested = descriptor.fields_by_name[part].message_type
                assert nested is not None, (command.name, opt.target)
                descriptor = nested
            assert name in descriptor.fields_by_name, (command.name, opt.target)


def test_submit_builds_the_applicant_channel_and_materials(tmp_path: Path) -> None:
    scan = tmp_path / "营业执照复印件.pdf"
    scan.write_bytes(b"%PDF scan")
    ledger = FakeLedger()
    result = run(
        ledger,
        "case", "submit",
        "--item", "ITEM-CODE",
        "--channel", "window",
        "--applicant-type", "natural-person",
        "--name", "张三",
        "--id-number", "370102199003071234",
        "--phone", "13800138000",
        "--material", f"食品经营许可申请书={_DIGEST.upper()}",
        "--material-file", str(scan),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    request: ledger_pb2.SubmitRequest = ledger.only_request()
    assert ledger.calls[0][0] == "Submit"
    assert request.item_code == "ITEM-CODE"
    assert request.channel == types_pb2.SUBMISSION_CHANNEL_WINDOW
    assert request.applicant.type == types_pb2.APPLICANT_TYPE_NATURAL_PERSON
    assert (request.applicant.name, request.applicant.phone) == ("张三", "13800138000")
    assert request.applicant.address == ""
    assert [(m.name, m.sha256) for m in request.materials] == [
        ("食品经营许可申请书", _DIGEST),
        ("营业执照复印件.pdf", hashlib.sha256(b"%PDF scan").hexdigest()),
    ]


def test_submit_prints_the_case_number_and_id() -> None:
    result = run(FakeLedger(), *_minimal_submit())
    assert CASE_NUMBER in result.output
    assert CASE_ID in result.output


def test_submit_with_json_prints_the_command_result() -> None:
    result = run(FakeLedger(), *_minimal_submit(), "--json")
    assert json.loads(result.output) == {
        "case_id": CASE_ID,
        "case_number": CASE_NUMBER,
        "version": 2,
        "replayed": False,
    }


def _minimal_submit() -> list[str]:
    return [
        "case", "submit", "--item", "X", "--channel", "online",
        "--applicant-type", "enterprise", "--name", "某公司", "--id-number", "91370102MA3C4D5E6F",
        "--material", f"申请书={_DIGEST}",
    ]  # fmt: skip


def test_a_command_gets_a_fresh_uuid4_request_id_by_default() -> None:
    ledger = FakeLedger()
    run(ledger, "case", "accept", CASE_NUMBER, "--notice-no", "受理〔2026〕1号")
    run(ledger, "case", "accept", CASE_NUMBER, "--notice-no", "受理〔2026〕1号")
    ids = [request.meta.request_id for _, request in ledger.calls]  # type: ignore[attr-defined]
    assert ids[0] != ids[1]
    assert all(uuid.UUID(value).version == 4 for value in ids)


def test_meta_carries_operator_role_request_id_time_and_expected_version() -> None:
    ledger = FakeLedger()
    result = run(
        ledger,
        "--operator", "zhang.wei", "--role", "reviewer",
        "case", "step", CASE_ID,
        "--step", "审查", "--handler", "王芳", "--opinion", "材料齐全", "--action", "pass",
        "--request-id", "req-42", "--at", "2026-03-02T09:30:00", "--expect-version", "3",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    request: ledger_pb2.RecordStepRequest = ledger.only_request()
    assert request.case == CASE_ID
    assert (request.step, request.handler, request.opinion) == ("审查", "王芳", "材料齐全")
    assert request.action == types_pb2.STEP_ACTION_PASS
    meta = request.meta
    assert (meta.operator.id, meta.operator.role) == ("zhang.wei", "reviewer")
    assert meta.request_id == "req-42"
    assert meta.expected_version == 3
    # No offset given: Beijing time, 09:30 there is 01:30 UTC.
    assert meta.occurred_at.ToDatetime(tzinfo=UTC) == datetime(2026, 3, 2, 1, 30, tzinfo=UTC)


def test_operator_and_role_come_from_the_environment() -> None:
    ledger = FakeLedger()
    env = {"CASELEDGER_OPERATOR": "li.na", "CASELEDGER_ROLE": "approver"}
    run(ledger, "case", "resume", CASE_NUMBER, env=env)
    meta = ledger.only_request().meta
    assert (meta.operator.id, meta.operator.role) == ("li.na", "approver")


def test_without_at_the_node_clock_decides() -> None:
    ledger = FakeLedger()
    run(ledger, "case", "withdraw", CASE_NUMBER, "--reason", "申请人撤回")
    assert not ledger.only_request().meta.HasField("occurred_at")


def test_request_correction_lists_each_material_with_its_reason() -> None:
    ledger = FakeLedger()
    run(
        ledger, "case", "request-correction", CASE_NUMBER,
        "--material", "营业执照复印件=未加盖公章", "--material", "平面图=比例不符=需重绘",
    )  # fmt: skip
    request: ledger_pb2.RequestCorrectionRequest = ledger.only_request()
    assert [(m.name, m.reason) for m in request.materials] == [
        ("营业执照复印件", "未加盖公章"),
        ("平面图", "比例不符=需重绘"),
    ]


@pytest.mark.parametrize("word", ["1", "very-satisfied", "非常满意"])
def test_satisfaction_is_taken_as_gbt_39046_code_name_or_label(word: str) -> None:
    ledger = FakeLedger()
    result = run(ledger, "case", "rate", CASE_NUMBER, "--satisfaction", word, "--channel", "qr")
    assert result.exit_code == 0, result.output
    request: ledger_pb2.RateRequest = ledger.only_request()
    assert request.satisfaction == types_pb2.SATISFACTION_VERY_SATISFIED
    assert request.channel == types_pb2.RATING_CHANNEL_QR_CODE


def test_rate_sends_the_comment_and_every_detail() -> None:
    ledger = FakeLedger()
    run(
        ledger, "case", "rate", CASE_NUMBER, "--satisfaction", "5", "--channel", "phone",
        "--comment", "等待太久", "--detail", "办事效率低", "--detail", "多次跑腿",
    )  # fmt: skip
    request: ledger_pb2.RateRequest = ledger.only_request()
    assert request.satisfaction == types_pb2.SATISFACTION_VERY_DISSATISFIED
    assert list(request.details) == ["办事效率低", "多次跑腿"]


def test_conclude_maps_the_result_and_refuses_transferred() -> None:
    ledger = FakeLedger()
    run(ledger, "case", "conclude", CASE_NUMBER, "--result", "never-corrected")
    assert ledger.only_request().result == types_pb2.CONCLUSION_RESULT_NEVER_CORRECTED
    refused = run(FakeLedger(), "case", "conclude", CASE_NUMBER, "--result", "transferred")
    assert refused.exit_code == 2


def test_certificate_sends_dates_and_a_lower_case_digest() -> None:
    ledger = FakeLedger()
    run(
        ledger, "case", "certificate", CASE_NUMBER,
        "--licence-id", "1.2.156.3005.2.11100000000013338W001.1", "--file-sha256", _DIGEST.upper(),
        "--valid-from", "2026-03-20", "--valid-until", "2031-03-19",
    )  # fmt: skip
    request: ledger_pb2.IssueCertificateRequest = ledger.only_request()
    assert request.file_sha256 == _DIGEST
    assert (request.valid_from, request.valid_until) == ("2026-03-20", "2031-03-19")


def test_special_start_maps_the_kind() -> None:
    ledger = FakeLedger()
    run(ledger, "case", "special-start", CASE_NUMBER, "--kind", "site-check", "--reason", "核查")
    assert ledger.only_request().kind == types_pb2.SPECIAL_PROCEDURE_KIND_SITE_CHECK


@pytest.mark.parametrize(
    "args",
    [
        ["certificate", CASE_NUMBER, "--licence-id", "L", "--file-sha256", "abc",
         "--valid-from", "2026-03-20"],
        ["delivered", CASE_NUMBER, "--signer", "张三", "--received-on", "2026/03/20"],
        ["supplement", CASE_NUMBER, "--material", "申请书=not-a-digest"],
        ["request-correction", CASE_NUMBER, "--material", "no reason"],
        ["submit", "--item", "X", "--channel", "fax", "--applicant-type", "enterprise",
         "--name", "n", "--id-number", "i"],
        ["step", CASE_NUMBER, "--step", "审查", "--handler", "h"],
    ],
)  # fmt: skip
def test_malformed_options_are_usage_errors_and_nothing_is_sent(args: list[str]) -> None:
    ledger = FakeLedger()
    result = run(ledger, "case", *args)
    assert result.exit_code == 2
    assert ledger.calls == []


def test_a_replayed_command_says_nothing_was_appended() -> None:
    ledger = FakeLedger(
        answers={
            "Suspend": ledger_pb2.SuspendResponse(
                result=types_pb2.CommandResult(
                    case_id=CASE_ID, case_number=CASE_NUMBER, version=5, replayed=True
                )
            )
        }
    )
    result = run(ledger, "case", "suspend", CASE_NUMBER, "--reason", "等待外部意见")
    assert "nothing was appended" in result.output


def test_show_prints_the_case_panel_and_json() -> None:
    view = ledger_pb2.CaseView(
        case_id=CASE_ID,
        case_number=CASE_NUMBER,
        owner="370102000000",
        status=types_pb2.CASE_STATUS_IN_PROCESS,
        item_name="食品经营许可证核发",
        deadline=ledger_pb2.Deadline(
            status=types_pb2.DEADLINE_STATUS_WARNING,
            working_days_used=8,
            promised_due="2026-03-16",
            statutory_due="2026-03-30",
            days_remaining=2,
        ),
    )
    ledger = FakeLedger(answers={"GetCase": ledger_pb2.GetCaseResponse(case=view)})
    shown = run(ledger, "case", "show", CASE_NUMBER)
    assert shown.exit_code == 0, shown.output
    for text in ("办理中", "预警", "2026-03-16", "2026-03-30", "370102000000"):
        assert text in shown.output
    as_json: dict[str, Any] = json.loads(run(ledger, "case", "show", CASE_NUMBER, "--json").output)
    assert as_json["status"] == "CASE_STATUS_IN_PROCESS"
    assert as_json["deadline"]["promised_due"] == "2026-03-16"
