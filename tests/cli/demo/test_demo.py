"""`caseledger demo`: its literal codes are valid, and the whole day runs and verifies."""

from __future__ import annotations

import random
import re
import socket
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

import caseledger.cli.demo.catalogue as c
from caseledger.cli.demo.day import DayCase, working_days_before
from caseledger.cli.demo.report import DemoNode
from caseledger.cli.main import cli
from caseledger.ledger.codes.identifiers import (
    CitizenId,
    CreditCode,
    ELicenceId,
    ItemImplementationCode,
)
from caseledger.v1 import types_pb2
from tests import cassandra_fixtures
from tests.cassandra_fixtures import cassandra_keyspace  # noqa: F401
from tests.nodes.replication.feeds import kafka_address

_DEMO_NODES = 6


def free_port_block(count: int) -> int:
    """A base port from which `count` consecutive ports are free on 127.0.0.1."""
    for _ in range(50):
        base = random.randint(20000, 60000 - count)
        probes = [socket.socket() for _ in range(count)]
        try:
            for offset, probe in enumerate(probes):
                probe.bind(("127.0.0.1", base + offset))
        except OSError:
            continue
        finally:
            for probe in probes:
                probe.close()
        return base
    raise AssertionError(f"no {count} consecutive free ports found")


def test_every_implementation_code_passes_the_check_rules_of_its_parts() -> None:
    for terms in c.CATALOGUE:
        code = ItemImplementationCode.parse(terms.implementation_code)
        assert str(code) == terms.implementation_code
        level = {"2": 2, "3": 3, "4": 4, "5": 5}[code.exercising_level.code]
        assert terms.exercising_level == level


def test_every_applicant_id_passes_gb_11643_or_gb_32100() -> None:
    for applicant in c.APPLICANTS:
        if applicant.type == types_pb2.APPLICANT_TYPE_NATURAL_PERSON:
            CitizenId.parse(applicant.id_number)
        else:
            CreditCode.parse(applicant.id_number)


def test_every_licence_id_carries_its_mod_37_36_check_character() -> None:
    for licence in c.LICENCES:
        assert str(ELicenceId.parse(licence)) == licence


def test_every_item_is_implemented_by_a_body_of_the_demo_network() -> None:
    bodies = {
        c.SHANDONG_DRUG_ADMINISTRATION,
        c.JINAN_MARKET_REGULATION,
        c.LIXIA_APPROVAL_BUREAU,
        c.PINGYIN_APPROVAL_BUREAU,
        c.JIEFANGLU_OFFICE,
        c.DONGE_GOVERNMENT,
    }
    for body in bodies:
        CreditCode.parse(body)
    assert {terms.implementation_code[:18] for terms in c.CATALOGUE} == bodies


def test_working_days_skip_weekends_and_official_holidays() -> None:
    assert working_days_before(date(2026, 3, 9), 1) == date(2026, 3, 6)  # Monday -> Friday
    # 2025 National Day: 1-8 October off, Sunday 28 September a make-up workday.
    assert working_days_before(date(2025, 10, 9), 1) == date(2025, 9, 30)
    assert working_days_before(date(2025, 9, 29), 1) == date(2025, 9, 28)


def test_a_node_holds_the_cases_its_subtree_ever_owned() -> None:
    county = DemoNode("370124000000", "127.0.0.1:1", "平阴县")
    street = DemoNode("370102001000", "127.0.0.1:2", "解放路街道")
    travelled = DayCase("n", "s", "i", ["370124102000", "370124000000"], 9)
    assert county.prefix == "370124"
    assert street.prefix == "370102001"
    assert county.holds(travelled)
    assert not street.holds(travelled)


def test_demo_refuses_a_data_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "old.sqlite").write_bytes(b"")
    result = CliRunner().invoke(cli, ["demo", "--data", str(tmp_path)])
    assert result.exit_code == 2
    assert "is not empty" in result.output


def test_demo_names_a_node_that_cannot_start_and_keeps_its_logs(tmp_path: Path) -> None:
    base = free_port_block(_DEMO_NODES)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", base + 3))  # 解放路街道's port
        squatter.listen()
        result = CliRunner().invoke(
            cli, ["demo", "--base-port", str(base), "--data", str(tmp_path / "run")]
        )
    assert result.exit_code == 1
    assert "node 370102001000 解放路街道 exited unexpectedly" in result.output
    assert f"kept {tmp_path / 'run'}" in result.output
    assert (tmp_path / "run" / "logs" / "370102001000.log").is_file()


@pytest.fixture(scope="module")
def demo_output(tmp_path_factory: pytest.TempPathFactory) -> str:
    data = tmp_path_factory.mktemp("demo") / "run"
    base = free_port_block(_DEMO_NODES)
    result = CliRunner().invoke(cli, ["demo", "--base-port", str(base), "--data", str(data)])
    assert result.exit_code == 0, result.output
    return result.output


def test_demo_runs_the_day_on_six_nodes_and_exits_zero(demo_output: str) -> None:
    assert "6 nodes up" in demo_output
    for name in ("山东省", "济南市", "历下区", "解放路街道", "平阴县", "东阿镇"):
        assert name in demo_output
    assert "network stopped" in demo_output


def test_demo_prints_the_per_level_summary_with_overdue_and_bad_ratings(
    demo_output: str,
) -> None:
    assert "各级汇总 per-level summary" in demo_output
    assert "红牌 1" in demo_output  # the case accepted 30 working days ago
    assert "不满意 1" in demo_output
    assert "10 (1 own + 9 replicated)" in demo_output  # the province holds every case


def test_demo_verifies_the_transferred_case_at_township_county_and_province(
    demo_output: str,
) -> None:
    assert "TransferRequested" in demo_output
    assert "TransferAccepted" in demo_output
    for node in ("东阿镇 370124102000", "平阴县 370124000000", "山东省 370000000000"):
        assert f"✓ verified at {node}" in demo_output
    assert "all 3 copies end at the same hash" in demo_output
    assert "✓ all 10 trails of the day verified" in demo_output


@pytest.mark.kafka
def test_demo_through_the_kafka_broker_verifies_the_same_day(tmp_path: Path) -> None:
    broker = kafka_address()
    base = free_port_block(_DEMO_NODES)
    result = CliRunner().invoke(
        cli,
        ["demo", "--feed", "kafka", "--base-port", str(base), "--data", str(tmp_path / "run")],
        env={"CASELEDGER_KAFKA": broker},
    )
    assert result.exit_code == 0, result.output
    assert f"feed: Kafka at {broker}" in result.output
    assert "10 (1 own + 9 replicated)" in result.output
    assert "all 3 copies end at the same hash" in result.output
    assert "✓ all 10 trails of the day verified" in result.output


@pytest.mark.cassandra
@pytest.mark.usefixtures("cassandra_keyspace")
def test_demo_on_a_cassandra_province_verifies_the_day_there_and_drops_its_keyspace() -> None:
    node = cassandra_fixtures.address()
    base = free_port_block(_DEMO_NODES)
    result = CliRunner().invoke(
        cli,
        ["demo", "--province-store", "cassandra", "--base-port", str(base)],
        env={"CASELEDGER_CASSANDRA": node},
    )
    assert result.exit_code == 0, result.output
    announced = re.search(
        rf"store: the province on Cassandra at {node}, keyspace (\w+)", result.output
    )
    assert announced is not None, result.output
    assert "10 (1 own + 9 replicated)" in result.output
    assert "✓ verified at 山东省 370000000000" in result.output
    assert "✓ all 10 trails of the day verified at 山东省 370000000000" in result.output
    assert "dropped the run's Cassandra keyspace" in result.output
    keyspaces = cassandra_fixtures.session().rows(
        "SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = ?",
        (announced[1],),
    )
    assert keyspaces == []


def test_demo_shows_every_levels_figures_from_the_provinces_report_adding_up(
    demo_output: str,
) -> None:
    for level in ("省 province", "市 city", "县区 county", "乡镇街道 township"):
        assert f"{level} 各级统计 figures" in demo_output
        assert f"✓ {level}: " in demo_output
    assert "rows do not add up" not in demo_output
