"""The item catalogue (事项目录): what may be applied for, and its time limits.

An `Item` is its own aggregate, identified by its implementation code
(实施编码), published by the node that owns the catalogue (the province in a
real network) and revised there. A submission names an item; the node checks
it against the catalogue before a case exists.

Its events record who published or revised the item (operator id and role,
as case events do) since class version 2; an event stored at version 1 is
read with the operator unrecorded (both empty). `docs/events.md` lists the
shapes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from caseledger.ledger.case.base import Operator
from caseledger.ledger.codes.identifiers import ItemImplementationCode
from caseledger.ledger.codes.vocabulary import CaseType, ExercisingLevel, ItemType
from caseledger.ledger.errors import InvalidInput
from caseledger.ledger.timelimits.deadlines import TimeLimits

_ITEM_NAMESPACE = uuid5(NAMESPACE_URL, "caseledger:item")

UNRECORDED = Operator(id="", role="")
"""The operator of a catalogue event stored before class version 2 (or of one
whose caller named nobody): not recorded."""


def item_id(implementation_code: str) -> UUID:
    """The aggregate id of the catalogue item with this implementation code."""
    return uuid5(_ITEM_NAMESPACE, implementation_code)


@dataclass(frozen=True)
class ItemTerms:
    """What the catalogue says about one item (事项)."""

    implementation_code: ItemImplementationCode
    name: str
    item_type: ItemType
    exercising_level: ExercisingLevel
    case_type: CaseType
    limits: TimeLimits
    required_materials: tuple[str, ...]
    issues_certificate: bool

    def validate(self) -> None:
        if not self.name.strip():
            raise InvalidInput.single("name", "must not be empty")
        if self.case_type is CaseType.IMMEDIATE and self.limits.promised_days != 0:
            raise InvalidInput.single(
                "promised_days", "an immediate item (即办件) concludes the same day: use 0"
            )
        for index, material in enumerate(self.required_materials):
            if not material.strip():
                raise InvalidInput.single(f"required_materials[{index}]", "must not be empty")

    def to_json(self) -> dict[str, Any]:
        return {
            "implementation_code": str(self.implementation_code),
            "name": self.name,
            "item_type": self.item_type.code,
            "exercising_level": self.exercising_level.code,
            "case_type": self.case_type.code,
            "statutory_days": self.limits.statutory_days,
            "promised_days": self.limits.promised_days,
            "required_materials": list(self.required_materials),
            "issues_certificate": self.issues_certificate,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ItemTerms:
        return cls(
            implementation_code=ItemImplementationCode.parse(data["implementation_code"]),
            name=data["name"],
            item_type=ItemType.from_code(data["item_type"]),
            exercising_level=ExercisingLevel.from_code(data["exercising_level"]),
            case_type=CaseType.from_code(data["case_type"]),
            limits=TimeLimits(data["statutory_days"], data["promised_days"]),
            required_materials=tuple(data["required_materials"]),
            issues_certificate=data["issues_certificate"],
        )


def _recorded(operator: Operator) -> Operator:
    if operator != UNRECORDED:
        for field, value in (("operator.id", operator.id), ("operator.role", operator.role)):
            if not value.strip():
                raise InvalidInput.single(field, "must not be empty")
    return operator


def _upcast_operator_v1_v2(state: dict[str, Any]) -> None:
    """Version 1 did not record who acted: read it as unrecorded."""
    state["operator_id"] = UNRECORDED.id
    state["operator_role"] = UNRECORDED.role


class Item(Aggregate):
    """A catalogue item (事项), published once and revised in place."""

    # Not annotated: the library makes an __init__ of an aggregate's annotations.
    NAME = "caseledger.catalogue.Item"
    """The stable name its `Published` event is stored with as `originator_topic`."""

    def __init__(self) -> None:
        self.publisher = ""
        self.terms_json: dict[str, Any] = {}
        self.withdrawn = False
        self.changed_by = UNRECORDED

    @property
    def terms(self) -> ItemTerms:
        return ItemTerms.from_json(self.terms_json)

    @dataclass(frozen=True)
    class Published(Aggregate.Created):
        """事项发布: by node `publisher`, by the operator recorded (version 2 on)."""

        NAME: ClassVar[str] = "caseledger.catalogue.ItemPublished"
        class_version: ClassVar[int] = 2

        publisher: str
        terms: dict[str, Any]
        operator_id: str
        operator_role: str

        upcast_v1_v2 = staticmethod(_upcast_operator_v1_v2)

        def apply(self, aggregate: Any) -> None:
            assert isinstance(aggregate, Item)
            aggregate.publisher = self.publisher
            aggregate.terms_json = self.terms
            aggregate.changed_by = Operator(self.operator_id, self.operator_role)

    @dataclass(frozen=True)
    class Revised(Aggregate.Event):
        """事项变更: new terms, by the operator recorded (version 2 on)."""

        NAME: ClassVar[str] = "caseledger.catalogue.ItemRevised"
        class_version: ClassVar[int] = 2

        terms: dict[str, Any]
        operator_id: str
        operator_role: str

        upcast_v1_v2 = staticmethod(_upcast_operator_v1_v2)

        def apply(self, aggregate: Any) -> None:
            assert isinstance(aggregate, Item)
            aggregate.terms_json = self.terms
            aggregate.changed_by = Operator(self.operator_id, self.operator_role)

    @classmethod
    def publish(cls, publisher: str, terms: ItemTerms, operator: Operator = UNRECORDED) -> Item:
        terms.validate()
        _recorded(operator)
        return cls._create(
            cls.Published,
            id=item_id(str(terms.implementation_code)),
            publisher=publisher,
            terms=terms.to_json(),
            operator_id=operator.id,
            operator_role=operator.role,
        )

    def revise(self, terms: ItemTerms, operator: Operator = UNRECORDED) -> None:
        terms.validate()
        _recorded(operator)
        if str(terms.implementation_code) != self.terms_json["implementation_code"]:
            raise InvalidInput.single("implementation_code", "a revision keeps the item's code")
        if terms.to_json() != self.terms_json:
            self.trigger_event(
                self.Revised,
                terms=terms.to_json(),
                operator_id=operator.id,
                operator_role=operator.role,
            )


REFERENCE_DATA_TOPICS: tuple[str, ...] = (Item.Published.NAME, Item.Revised.NAME)
"""The events of the catalogue (事项目录), by stable name: reference data,
which flows down the network to every node below its publisher, while case
events flow up."""


def is_reference_data(topic: str) -> bool:
    """Whether `topic`, a stable name, is a catalogue event (an alias is not:
    turn one into its stable name with `caseledger.ledger.names` first)."""
    return topic in REFERENCE_DATA_TOPICS
