"""The command line against a real node on a free port: a whole case, and real refusals."""

from __future__ import annotations

import hashlib
import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import structlog
import yaml
from click.testing import CliRunner, Result

from caseledger.cli.params import BEIJING
from caseledger.ledger.codes.identifiers import CreditCode, ELicenceId
from caseledger.nodes.config import NodeConfig
from caseledger.nodes.service.server import RunningNode, start
from tests.cli.fakes import ITEM_DOCUMENT
from tests.pki import secured
from tests.samples import CITIZEN_ID, FOOD_LICENCE, LIXIA, LIXIA_BUREAU

APPLICATION = hashlib.sha256(b"food business licence application").hexdigest()
BUSINESS_LICENCE_COPY = hashlib.sha256(b"business licence copy").hexdigest()
LICENCE_ID = str(ELicenceId.issue("JY", CreditCode(LIXIA_BUREAU), "23701020000001", 1))


@pytest.fixture
def node(tmp_path: Path) -> Iterator[RunningNode]:
    # The node runs in this process: its log lines must not land in the
    # command line's captured stdout.
    with structlog.testing.capture_logs():
        running = start(secured(NodeConfig(code=LIXIA, data_dir=tmp_path / "node")))
        yield running
        running.stop(grace=0)


@pytest.fixture
def item_file(tmp_path: Path) -> Path:
    path = tmp_path / "food.yaml"
    path.write_text(yaml.safe_dump(ITEM_DOCUMENT, allow_unicode=True), encoding="utf-8")
    return path


class Operator:
    """Runs `caseledger` against one node, as one operator."""

    def __init__(self, address: str) -> None:
        self.address = address

    def __call__(self, *args: str, role: str = "window_clerk") -> Result:
        return CliRunner().invoke(Operator.root(), ["--node", self.address, "--role", role, *args])

    def ok(self, *args: str, role: str = "window_clerk") -> Result:
        result = self(*args, role=role)
        assert result.exit_code == 0, (args, result.output)
        return result

    def json(self, *args: str, role: str = "window_clerk") -> Any:
        return json.loads(self.ok(*args, "--json", role=role).stdout)

    @staticmethod
    def root() -> Any:
        from caseledger.cli.main import cli

        return cli


def submit(run: Operator) -> str:
    submitted = run.json(
        "case", "submit", "--item", FOOD_LICENCE, "--channel", "window",
        "--applicant-type", "natural-person", "--name", "张三", "--id-number", CITIZEN_ID,
        "--phone", "13800138000", "--address", "济南市历下区解放路1号",
        "--material", f"食品经营许可申请书={APPLICATION}",
        "--material", f"营业执照复印件={BUSINESS_LICENCE_COPY}",
    )  # fmt: skip
    assert submitted["version"] == 1
    return str(submitted["case_number"])


def test_a_whole_case_from_submission_to_rating_verifies(
    node: RunningNode, item_file: Path
) -> None:
    run = Operator(node.address)
    run.ok("catalogue", "publish", str(item_file))
    number = submit(run)
    today = datetime.now(UTC).astimezone(BEIJING).date().isoformat()
    run.ok("case", "accept", number, "--notice-no", "历下受字〔2026〕001号")
    run.ok(
        "case", "step", number, "--step", "审查", "--handler", "王芳", "--opinion", "材料齐全",
        "--action", "pass", role="reviewer",
    )  # fmt: skip
    run.ok(
        "case", "conclude", number, "--result", "approved", "--decision-no", "历下准字001",
        role="approver",
    )  # fmt: skip
    run.ok(
        "case", "certificate", number, "--licence-id", LICENCE_ID,
        "--file-sha256", hashlib.sha256(b"licence pdf").hexdigest(), "--valid-from", today,
    )  # fmt: skip
    run.ok("case", "mail", number, "--carrier", "EMS", "--tracking-no", "1100123456789",
           "--address", "济南市历下区解放路1号")  # fmt: skip
    run.ok("case", "delivered", number, "--signer", "张三", "--received-on", today)
    rated = run.json("case", "rate", number, "--satisfaction", "1", "--channel", "sms")
    assert rated["version"] == 8

    view = run.json("case", "show", number)
    assert view["status"] == "CASE_STATUS_CONCLUDED"
    assert view["result"] == "CONCLUSION_RESULT_APPROVED"
    assert view["satisfaction"] == "SATISFACTION_VERY_SATISFIED"
    assert view["delivery"] == "delivered"
    assert view["applicant_name"] != "张三"  # masked
    assert "已办结" in run.ok("case", "show", number).stdout

    audit = run("audit", "replay", number)
    assert audit.exit_code == 0, audit.output
    assert f"✓ 8 events of case {number} verified" in audit.stdout
    report = run.json("audit", "replay", view["case_id"])
    assert report["verified"] is True
    assert [event["stage"] for event in report["events"]] == [
        "Submitted", "Accepted", "StepRecorded", "Concluded", "CertificateIssued",
        "DispatchedByMail", "DeliveryConfirmed", "Rated",
    ]  # fmt: skip
    assert [event["operator"]["role"] for event in report["events"]][1:4] == [
        "window_clerk", "reviewer", "approver",
    ]  # fmt: skip


def test_catalogue_show_returns_what_was_published(node: RunningNode, item_file: Path) -> None:
    run = Operator(node.address)
    run.ok("catalogue", "publish", str(item_file))
    assert run.json("catalogue", "show", FOOD_LICENCE) == yaml.safe_load(
        item_file.read_text(encoding="utf-8")
    )


def test_the_node_rejects_a_bad_id_number_field_by_field(
    node: RunningNode, item_file: Path
) -> None:
    run = Operator(node.address)
    run.ok("catalogue", "publish", str(item_file))
    result = run(
        "case", "submit", "--item", FOOD_LICENCE, "--channel", "window",
        "--applicant-type", "natural-person", "--name", "张三", "--id-number", "370102199003071230",
        "--material", f"食品经营许可申请书={APPLICATION}",
    )  # fmt: skip
    assert result.exit_code == 4
    lines = result.stderr.splitlines()
    assert lines[0] == "invalid input:"
    assert any(line.startswith("  applicant.id_number: ") for line in lines[1:])


def test_an_illegal_step_exits_5_with_the_nodes_reason(node: RunningNode, item_file: Path) -> None:
    run = Operator(node.address)
    run.ok("catalogue", "publish", str(item_file))
    number = submit(run)
    result = run("case", "certificate", number, "--licence-id", LICENCE_ID,
                 "--file-sha256", APPLICATION, "--valid-from", "2026-03-20")  # fmt: skip
    assert result.exit_code == 5
    assert result.stderr.startswith("not allowed: ")


def test_a_stale_expected_version_exits_8(node: RunningNode, item_file: Path) -> None:
    run = Operator(node.address)
    run.ok("catalogue", "publish", str(item_file))
    number = submit(run)
    result = run("case", "accept", number, "--notice-no", "N1", "--expect-version", "5")
    assert result.exit_code == 8


def test_an_unknown_case_exits_6(node: RunningNode) -> None:
    assert Operator(node.address)("case", "show", "370102260302999999").exit_code == 6
    assert Operator(node.address)("audit", "replay", "370102260302999999").exit_code == 6


def test_a_node_that_is_not_there_exits_9() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"
    # Nothing listens on the port just released.
    result = CliRunner().invoke(
        Operator.root(), ["--node", address, "--timeout", "5", "node", "ping"]
    )
    assert result.exit_code == 9
    assert result.stderr.strip() == f"node at {address} is not reachable"


def test_ping_reaches_the_node(node: RunningNode) -> None:
    assert Operator(node.address).json("node", "ping")["node"] == LIXIA


def test_erasing_the_applicant_leaves_the_trail_verifying(
    node: RunningNode, item_file: Path
) -> None:
    run = Operator(node.address)
    run.ok("catalogue", "publish", str(item_file))
    number = submit(run)
    # Erasure is the data-protection officer's alone (docs/identity.md).
    erased = run.json(
        "subject", "erase", "--applicant-type", "natural-person", "--id-number", CITIZEN_ID,
        "--reason", "依申请删除个人信息", "--yes", role="data_protection_officer",
    )  # fmt: skip
    assert erased["erased"] is True
    assert run.json("case", "show", number)["applicant_name"] == "[erased]"
    assert run("audit", "replay", number).exit_code == 0
    again = run(
        "subject", "erase", "--applicant-type", "natural-person", "--id-number", CITIZEN_ID,
        "--reason", "再次", "--yes", role="data_protection_officer",
    )  # fmt: skip
    assert again.exit_code == 6
