"""A node on a free port and an operator driving it, for the clerk's-day tests."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import structlog
import yaml

from caseledger.cli.params import BEIJING
from caseledger.ledger.codes.identifiers import CreditCode, ELicenceId
from caseledger.nodes.config import NodeConfig
from caseledger.nodes.service.server import RunningNode, start
from tests.cli.fakes import ITEM_DOCUMENT
from tests.cli.test_cli_end_to_end import Operator
from tests.pki import secured
from tests.samples import CITIZEN_ID, FOOD_LICENCE, LIXIA, LIXIA_BUREAU

APPLICATION = hashlib.sha256(b"food business licence application").hexdigest()
BUSINESS_LICENCE_COPY = hashlib.sha256(b"business licence copy").hexdigest()
LICENCE_PDF = hashlib.sha256(b"licence pdf").hexdigest()


def licence_id(serial: int) -> str:
    return str(ELicenceId.issue("JY", CreditCode(LIXIA_BUREAU), f"2370102{serial:07d}", 1))


def running_node(data: Path, *, client_time: bool = False) -> Iterator[RunningNode]:
    # The node runs in this process: its log lines must not land in the
    # command line's captured stdout.
    with structlog.testing.capture_logs():
        running = start(
            secured(NodeConfig(code=LIXIA, data_dir=data, allow_client_time=client_time))
        )
        yield running
        running.stop(grace=0)


def published(run: Operator, folder: Path) -> None:
    path = folder / "food.yaml"
    path.write_text(yaml.safe_dump(ITEM_DOCUMENT, allow_unicode=True), encoding="utf-8")
    run.ok("catalogue", "publish", str(path))


def today() -> date:
    return datetime.now(UTC).astimezone(BEIJING).date()


def submitted(run: Operator, *materials: str) -> str:
    """A window submission with `materials` (NAME=SHA256), by default every one the
    item requires, so that it can be accepted."""
    listed = materials or (
        f"食品经营许可申请书={APPLICATION}",
        f"营业执照复印件={BUSINESS_LICENCE_COPY}",
    )
    flags = [arg for material in listed for arg in ("--material", material)]
    document = run.json(
        "case", "submit", "--item", FOOD_LICENCE, "--channel", "window",
        "--applicant-type", "natural-person", "--name", "张三", "--id-number", CITIZEN_ID,
        "--phone", "13800138000", "--address", "济南市历下区解放路1号", *flags,
    )  # fmt: skip
    return str(document["case_number"])


def concluded(run: Operator, number: str) -> None:
    """Accepted, reviewed and approved: ready for its certificate."""
    run.ok("case", "accept", number, "--notice-no", "历下受字〔2026〕001号")
    run.ok(
        "case", "step", number, "--step", "审查", "--handler", "王芳", "--opinion", "材料齐全",
        "--action", "pass", role="reviewer",
    )  # fmt: skip
    run.ok(
        "case", "conclude", number, "--result", "approved", "--decision-no", "历下准字001",
        role="approver",
    )  # fmt: skip
