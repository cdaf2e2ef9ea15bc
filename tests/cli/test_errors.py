"""A node's gRPC errors become one message on stderr and a documented exit code."""

from __future__ import annotations

import grpc
import pytest
from click.testing import CliRunner, Result
from google.rpc import error_details_pb2

from caseledger.cli.main import cli, translate
from tests.cli.fakes import CASE_NUMBER, FailedCall, FakeLedger, error_info, rich_error

ADDRESS = "10.1.2.3:50051"


def fail_with(error: Exception, *args: str) -> Result:
    ledger = FakeLedger(answers={"Accept": error})
    return CliRunner().invoke(
        cli,
        ["--node", ADDRESS, "case", "accept", CASE_NUMBER, "--notice-no", "N1", *args],
        obj=ledger.connect,
    )


def test_invalid_input_lists_every_field_violation_and_exits_4() -> None:
    bad = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(
                field="applicant.id_number", description="check digit is wrong"
            ),
            error_details_pb2.BadRequest.FieldViolation(
                field="materials[0].sha256", description="must be 64 lower-case hex digits"
            ),
        ]
    )
    error = rich_error(
        grpc.StatusCode.INVALID_ARGUMENT, "2 invalid fields", error_info("INVALID_FIELD"), bad
    )
    result = fail_with(error)
    assert result.exit_code == 4
    assert result.stderr.splitlines() == [
        "invalid input:",
        "  applicant.id_number: check digit is wrong",
        "  materials[0].sha256: must be 64 lower-case hex digits",
    ]
    assert result.stdout == ""


def test_failed_precondition_prints_the_reason_and_exits_5() -> None:
    failure = error_details_pb2.PreconditionFailure(
        violations=[
            error_details_pb2.PreconditionFailure.Violation(
                type="TRANSITION",
                subject="accept",
                description="an online submission must pass pre-review first",
            )
        ]
    )
    error = rich_error(
        grpc.StatusCode.FAILED_PRECONDITION, "illegal", error_info("ILLEGAL_TRANSITION"), failure
    )
    result = fail_with(error)
    assert result.exit_code == 5
    assert result.stderr.strip() == "not allowed: an online submission must pass pre-review first"


def test_a_case_owned_elsewhere_says_so() -> None:
    failure = error_details_pb2.PreconditionFailure(
        violations=[
            error_details_pb2.PreconditionFailure.Violation(
                type="OWNERSHIP", subject="c", description="owned by 370000000000"
            )
        ]
    )
    error = rich_error(grpc.StatusCode.FAILED_PRECONDITION, "x", error_info("NOT_OWNER"), failure)
    result = fail_with(error)
    assert result.exit_code == 5
    assert "not this node's case: owned by 370000000000" in result.stderr


@pytest.mark.parametrize(
    ("code", "exit_code", "words"),
    [
        (grpc.StatusCode.NOT_FOUND, 6, "not found: no case 370102260302000001"),
        (grpc.StatusCode.ALREADY_EXISTS, 7, "already exists"),
        (grpc.StatusCode.ABORTED, 8, "read the case and decide again"),
        (grpc.StatusCode.UNAVAILABLE, 9, f"node at {ADDRESS} is not reachable"),
        (grpc.StatusCode.DEADLINE_EXCEEDED, 9, f"node at {ADDRESS} is not reachable"),
        (grpc.StatusCode.INTERNAL, 1, "node error (INTERNAL)"),
        (grpc.StatusCode.PERMISSION_DENIED, 11, "not permitted"),
        (grpc.StatusCode.UNAUTHENTICATED, 10, "not authenticated"),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, 1, "node error (RESOURCE_EXHAUSTED)"),
    ],
)
def test_each_status_has_its_exit_code(code: grpc.StatusCode, exit_code: int, words: str) -> None:
    error = rich_error(code, f"no case {CASE_NUMBER}", error_info("X"))
    result = fail_with(error)
    assert result.exit_code == exit_code
    assert words in result.stderr


def test_no_traceback_reaches_the_operator() -> None:
    result = fail_with(rich_error(grpc.StatusCode.INTERNAL, "boom"))
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


def test_an_error_without_rich_status_still_translates() -> None:
    failure = translate(FailedCall(grpc.StatusCode.INVALID_ARGUMENT, "item is unknown"), ADDRESS)
    assert failure.exit_code == 4
    assert failure.format_message() == "invalid input:\n  item is unknown"


def test_a_rich_status_that_contradicts_the_call_is_not_trusted() -> None:
    genuine = rich_error(grpc.StatusCode.NOT_FOUND, "no such case")
    forged = FailedCall(grpc.StatusCode.FAILED_PRECONDITION, "stale", genuine.trailing_metadata())
    failure = translate(forged, ADDRESS)
    assert failure.exit_code == 5
    assert failure.format_message() == "not allowed: stale"


def test_the_root_help_documents_every_exit_code() -> None:
    help_text = CliRunner().invoke(cli, ["--help"]).output
    documented = {line.split()[0] for line in help_text.splitlines() if line.startswith("    ")}
    assert {str(code) for code in range(10)} <= documented
