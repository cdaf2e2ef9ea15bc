"""Who may issue which command, and on whose cases: the role table and jurisdiction."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from caseledger.ledger.codes.division import DivisionCode
from caseledger.nodes.identity import (
    COMMANDS,
    DEFAULT_TABLE,
    JURISDICTION,
    ROLE,
    ROLES,
    IdentityError,
    OperatorIdentity,
    PermissionRefused,
    authorize,
    load_role_table,
)
from caseledger.v1 import handoff_pb2, ledger_pb2
from tests.nodes.identity.conftest import DONGE, JINAN, LIXIA, PINGYIN, PROVINCE, QINGDAO


def operator(*roles: str, division: str = LIXIA) -> OperatorIdentity:
    return OperatorIdentity(
        operator_id="op-1",
        name="刘敏",
        roles=roles,
        division=DivisionCode(division),
        issuer="urn:caseledger:identity:development",
        key_id="k",
        expires_at=datetime(2026, 12, 1, 17, tzinfo=UTC),
    )


def refused(identity: OperatorIdentity, command: str, owner: str) -> PermissionRefused:
    with pytest.raises(PermissionRefused) as refusal:
        authorize(identity, command, owner)
    return refusal.value


def test_the_commands_are_the_rpcs_of_the_ledger_and_handoff_services() -> None:
    ledger = ledger_pb2.DESCRIPTOR.services_by_name["LedgerService"].methods
    handoff = handoff_pb2.DESCRIPTOR.services_by_name["HandoffService"].methods

    assert {m.name for m in (*ledger, *handoff)} == COMMANDS
    assert {"Submit", "Accept", "EraseSubject", "DeliverTrail"} <= COMMANDS


def test_the_default_table_lets_some_role_issue_every_command() -> None:
    covered = {command for commands in DEFAULT_TABLE.commands_of.values() for command in commands}

    assert covered == COMMANDS
    assert tuple(DEFAULT_TABLE.commands_of) == ROLES


def test_a_window_clerk_may_not_erase_a_subject() -> None:
    refusal = refused(operator("window_clerk"), "EraseSubject", LIXIA)

    assert refusal.reason == ROLE
    assert "data_protection_officer" in refusal.detail


def test_only_the_data_protection_officer_may_erase_a_subject() -> None:
    assert DEFAULT_TABLE.roles_for("EraseSubject") == ("data_protection_officer",)
    decision = authorize(operator("data_protection_officer"), "EraseSubject", LIXIA)
    assert decision.role == "data_protection_officer"


@pytest.mark.parametrize(
    ("role", "command"),
    [
        ("window_clerk", "Submit"),
        ("window_clerk", "Accept"),
        ("window_clerk", "CollectAtWindow"),
        ("reviewer", "RecordStep"),
        ("reviewer", "StartSpecialProcedure"),
        ("approver", "Conclude"),
        ("approver", "IssueCertificate"),
        ("approver", "ExtendDeadline"),
        ("supervisor", "RecordRectification"),
        ("system", "Rate"),
        ("system", "PublishItem"),
        ("system", "DeliverTrail"),
    ],
)
def test_each_role_may_issue_its_own_commands(role: str, command: str) -> None:
    assert authorize(operator(role), command, LIXIA).role == role


@pytest.mark.parametrize(
    ("role", "command"),
    [
        ("window_clerk", "Conclude"),
        ("window_clerk", "IssueCertificate"),
        ("window_clerk", "PublishItem"),
        ("reviewer", "Conclude"),
        ("reviewer", "Accept"),
        ("approver", "Submit"),
        ("supervisor", "Conclude"),
        ("data_protection_officer", "Submit"),
        ("system", "Accept"),
        ("system", "EraseSubject"),
        ("applicant", "Withdraw"),
    ],
)
def test_a_role_may_not_issue_another_roles_commands(role: str, command: str) -> None:
    assert refused(operator(role), command, LIXIA).reason == ROLE


def test_the_role_used_is_the_first_of_the_operators_roles_that_may() -> None:
    clerk_and_approver = operator("window_clerk", "approver")

    assert authorize(clerk_and_approver, "Accept", LIXIA).role == "window_clerk"
    assert authorize(clerk_and_approver, "Conclude", LIXIA).role == "approver"
    assert authorize(clerk_and_approver, "Transfer", LIXIA).role == "window_clerk"


def test_a_lixia_operator_may_not_act_on_a_pingyin_case() -> None:
    refusal = refused(operator("window_clerk", division=LIXIA), "Accept", PINGYIN)

    assert refusal.reason == JURISDICTION
    assert LIXIA in refusal.detail
    assert PINGYIN in refusal.detail


def test_a_county_operator_may_not_act_on_its_citys_own_case() -> None:
    assert refused(operator("approver", division=LIXIA), "Conclude", JINAN).reason == JURISDICTION


@pytest.mark.parametrize("owner", [JINAN, LIXIA, PINGYIN, DONGE])
def test_a_jinan_operator_covers_the_city_and_every_division_in_it(owner: str) -> None:
    decision = authorize(operator("reviewer", division=JINAN), "RecordStep", owner)

    assert decision.case_owner == DivisionCode(owner)


def test_a_jinan_operator_does_not_cover_qingdao() -> None:
    assert refused(operator("reviewer", division=JINAN), "RecordStep", QINGDAO).reason == (
        JURISDICTION
    )


@pytest.mark.parametrize("owner", [PROVINCE, JINAN, LIXIA, PINGYIN, DONGE, QINGDAO])
def test_a_province_operator_covers_every_case(owner: str) -> None:
    assert authorize(operator("supervisor", division=PROVINCE), "GetCase", owner).role == (
        "supervisor"
    )


def test_the_role_is_checked_before_the_jurisdiction() -> None:
    assert refused(operator("window_clerk", division=LIXIA), "EraseSubject", PINGYIN).reason == (
        ROLE
    )


def test_an_unknown_command_is_a_mistake_of_the_caller_not_a_refusal() -> None:
    with pytest.raises(ValueError, match="not a command"):
        authorize(operator("window_clerk"), "DropTable", LIXIA)


def test_the_case_owner_may_be_given_as_text_or_as_a_code() -> None:
    clerk = operator("window_clerk")

    assert authorize(clerk, "Submit", "370102").case_owner == DivisionCode(LIXIA)
    assert authorize(clerk, "Submit", DivisionCode(LIXIA)).case_owner == DivisionCode(LIXIA)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "roles.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_role_file_replaces_the_roles_it_names_and_keeps_the_others(tmp_path: Path) -> None:
    table = load_role_table(
        write(
            tmp_path,
            "roles:\n"
            "  window_clerk: [Ping, GetCase, Submit, Accept, Conclude]\n"
            "  catalogue_admin: [Ping, GetItem, PublishItem]\n",
        )
    )

    assert refused(operator("window_clerk"), "Conclude", LIXIA).reason == ROLE  # the default
    with pytest.raises(PermissionRefused):
        authorize(operator("window_clerk"), "CollectAtWindow", LIXIA, table)
    assert authorize(operator("window_clerk"), "Conclude", LIXIA, table).role == "window_clerk"
    assert authorize(operator("catalogue_admin"), "PublishItem", LIXIA, table).role == (
        "catalogue_admin"
    )
    assert table.commands_of["approver"] == DEFAULT_TABLE.commands_of["approver"]


def test_a_role_given_no_commands_may_issue_nothing(tmp_path: Path) -> None:
    table = load_role_table(write(tmp_path, "roles:\n  supervisor: []\n"))

    with pytest.raises(PermissionRefused):
        authorize(operator("supervisor"), "GetCase", LIXIA, table)


def test_no_role_file_is_the_default_table() -> None:
    assert load_role_table(None) is DEFAULT_TABLE


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("roles:\n  window_clerk: [EraseSubject]\n", "EraseSubject is for data_protection_officer"),
        ("roles:\n  window_clerk: [Submitt]\n", "Submitt is not a command"),
        ("roles:\n  Window-Clerk: [Submit]\n", "not a role name"),
        ("roles:\n  window_clerk: Submit\n", "list of command names"),
        ("roles:\n  window_clerk: [Submit, Submit]\n", "twice"),
        ("window_clerk: [Submit]\n", "one mapping"),
        ("roles: [window_clerk]\n", "maps each role"),
        ("roles: {window_clerk: [Submit]\n", "not YAML"),
    ],
)
def test_a_bad_role_file_is_refused_naming_the_file(
    tmp_path: Path, text: str, complaint: str
) -> None:
    path = write(tmp_path, text)

    with pytest.raises(IdentityError, match=complaint) as refusal:
        load_role_table(path)
    assert str(path) in str(refusal.value)
