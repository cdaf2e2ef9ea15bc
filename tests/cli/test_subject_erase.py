"""`subject erase` cannot be undone, so it asks first (unless --yes) and says what it destroys."""

from __future__ import annotations

from click.testing import CliRunner, Result

from caseledger.cli.main import cli
from caseledger.v1 import ledger_pb2
from tests.cli.fakes import FakeLedger
from tests.samples import CITIZEN_ID

ERASE = (
    "subject", "erase", "--applicant-type", "natural-person", "--id-number", CITIZEN_ID,
    "--reason", "依申请删除个人信息",
)  # fmt: skip


def erase(*extra: str, answer: str | None = None) -> tuple[Result, FakeLedger]:
    ledger = FakeLedger(
        answers={"EraseSubject": ledger_pb2.EraseSubjectResponse(subject="subject-1")}
    )
    result = CliRunner().invoke(cli, [*ERASE, *extra], obj=ledger.connect, input=answer)
    return result, ledger


def test_it_asks_first_and_a_no_erases_nothing() -> None:
    result, ledger = erase(answer="n\n")
    assert result.exit_code == 1
    assert ledger.calls == []
    assert "Erase it?" in result.stderr
    assert "not erased (confirm at the prompt, or pass --yes)" in result.stderr


def test_the_question_says_what_is_destroyed_and_masks_the_number() -> None:
    result, _ = erase(answer="n\n")
    prompt = " ".join(result.stderr.split())
    masked = f"{CITIZEN_ID[:6]}{'*' * 8}{CITIZEN_ID[-4:]}"
    assert f"destroys its key of the 自然人 {masked}." in prompt
    assert "unreadable for good in every case of this subject at that node" in prompt
    assert CITIZEN_ID not in result.stderr


def test_without_an_answer_nothing_is_erased() -> None:
    result, ledger = erase()
    assert result.exit_code == 1
    assert ledger.calls == []


def test_a_yes_at_the_prompt_erases() -> None:
    result, ledger = erase(answer="y\n")
    assert result.exit_code == 0, result.output
    assert [rpc for rpc, _ in ledger.calls] == ["EraseSubject"]
    assert "erased data subject subject-1" in result.stdout


def test_yes_erases_without_asking() -> None:
    result, ledger = erase("--yes", "--json")
    assert result.exit_code == 0, result.output
    assert [rpc for rpc, _ in ledger.calls] == ["EraseSubject"]
    assert "Erase it?" not in result.output
