"""Which role may issue which command: the role table.

Commands are the RPC names of `LedgerService` and `HandoffService`
(protos/caseledger/v1), read from the generated descriptors so the table can
never name a command the API does not have. The default below is what a
node enforces unless a role file (`role_file.py`) overrides some roles.

Duties are kept apart by role, and joined by identity: an operator who does
two jobs (a township service centre where one person receives, decides and
hands over 即办件) holds two roles in their token, rather than one role being
widened for everyone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from caseledger.nodes.identity.errors import IdentityError
from caseledger.v1 import handoff_pb2, ledger_pb2

WINDOW_CLERK: Final = "window_clerk"
"""窗口人员: the service window (综合受理) — receives, accepts, hands results over."""
REVIEWER: Final = "reviewer"
"""审核: the caseworker who examines a case and records the review steps."""
APPROVER: Final = "approver"
"""审批: decides — concludes, certifies, extends the time limit, sends a case on."""
SUPERVISOR: Final = "supervisor"
"""督办/监察: follows cases up and answers bad ratings (差评整改)."""
DATA_PROTECTION_OFFICER: Final = "data_protection_officer"
"""数据保护: the only role that may erase a data subject (擦除)."""
SYSTEM: Final = "system"
"""A machine account: the rating system (好差评), the catalogue feed (事项库), nodes."""

ROLES: Final = (WINDOW_CLERK, REVIEWER, APPROVER, SUPERVISOR, DATA_PROTECTION_OFFICER, SYSTEM)


def _rpc_names() -> frozenset[str]:
    services = (
        ledger_pb2.DESCRIPTOR.services_by_name["LedgerService"],
        handoff_pb2.DESCRIPTOR.services_by_name["HandoffService"],
    )
    return frozenset(method.name for service in services for method in service.methods)


COMMANDS: Final = _rpc_names()
"""Every command a role table may name."""

ERASE_SUBJECT: Final = "EraseSubject"
ERASERS: Final = frozenset({DATA_PROTECTION_OFFICER})
"""Who may erase a data subject, in every table: destroying personal data is
the data-protection officer's decision alone (个人信息保护), never a desk's."""

_READS: Final = frozenset(
    {"Ping", "GetItem", "ListItems", "GetCase", "SearchCases", "ListCaseEvents"}
)

DEFAULT: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        WINDOW_CLERK: _READS
        | {
            "Submit",  # 收件
            "PassPreReview",  # 预审
            "ReturnPreReview",
            "RequestCorrection",  # 补齐补正告知
            "SupplementMaterials",
            "Accept",  # 受理
            "RefuseAcceptance",  # 不予受理
            "Withdraw",  # 撤件, at the applicant's request
            "Transfer",  # 转报 from the window, e.g. a township reporting up
            "DispatchByMail",  # 送达
            "CollectAtWindow",
            "ConfirmDelivery",
        },
        REVIEWER: _READS
        | {
            "PassPreReview",
            "ReturnPreReview",
            "RequestCorrection",
            "RecordStep",  # 审查/审核
            "StartSpecialProcedure",  # 特别程序 (现场核查, 听证, 检测...)
            "EndSpecialProcedure",
            "Suspend",
            "Resume",
        },
        APPROVER: _READS
        | {
            "RecordStep",  # 审批/决定
            "StartSpecialProcedure",
            "EndSpecialProcedure",
            "Suspend",
            "Resume",
            "ExtendDeadline",  # 延期, approved by the agency's head
            "Conclude",  # 办结
            "IssueCertificate",  # 出证
            "Transfer",  # 转报 / 下发 / 跨域
        },
        SUPERVISOR: _READS | {"RecordRectification", "ListQuarantined"},
        DATA_PROTECTION_OFFICER: frozenset({"Ping", "GetCase", ERASE_SUBJECT}),
        SYSTEM: frozenset(
            {
                "Ping",
                "GetItem",
                "PublishItem",  # the catalogue, fed from the item library (事项库)
                "Rate",  # 好差评, recorded by the rating system for the applicant
                "OfferCase",  # between nodes
                "ExportTrail",
                "DeliverTrail",
                "ExportSubjectKeys",
                "EraseSubjectKey",
            }
        ),
    }
)


@dataclass(frozen=True)
class RoleTable:
    """role -> the commands it may issue. Checked when made: every command is
    an RPC of the API, and only the data-protection officer may erase."""

    commands_of: Mapping[str, frozenset[str]]

    def __post_init__(self) -> None:
        for role, commands in self.commands_of.items():
            unknown = sorted(commands - COMMANDS)
            if unknown:
                raise IdentityError(
                    f"role {role}: {', '.join(unknown)} is not a command of the API"
                )
        erasers = set(self.roles_for(ERASE_SUBJECT))
        if erasers - ERASERS:
            raise IdentityError(
                f"{ERASE_SUBJECT} is for {', '.join(sorted(ERASERS))} only, "
                f"not {', '.join(sorted(erasers - ERASERS))}"
            )

    def may(self, role: str, command: str) -> bool:
        return command in self.commands_of.get(role, frozenset())

    def roles_for(self, command: str) -> tuple[str, ...]:
        """The roles that may issue `command`, in the table's order."""
        return tuple(role for role, commands in self.commands_of.items() if command in commands)

    def overridden(self, roles: Mapping[str, Iterable[str]]) -> RoleTable:
        """This table with each role in `roles` given exactly those commands; a role
        not named keeps its commands, and a role given none may issue nothing."""
        merged = dict(self.commands_of)
        merged.update({role: frozenset(commands) for role, commands in roles.items()})
        return RoleTable(MappingProxyType(merged))


DEFAULT_TABLE: Final = RoleTable(DEFAULT)
