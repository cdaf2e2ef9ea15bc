"""The three writings of each code table agree, code by code, in both directions.

A code table (GB/T 39046 annex A, and the tables whose codes are the
ledger's own) is written three times: the ledger's `CodeTable` (code and
label, what is stored), the `caseledger.v1` enum (the number on the wire) and
the command line's `Vocabulary` (what an operator types and reads). The CLI
may not import the ledger, so this test is what holds the three together.
Numbers are read through `convert`, the one place that maps them to codes.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from google.protobuf.descriptor import EnumDescriptor

from caseledger.cli import vocabulary as cli
from caseledger.cli.vocabulary import Term, Vocabulary
from caseledger.ledger.codes import vocabulary as ledger
from caseledger.ledger.codes.vocabulary import CodeTable
from caseledger.ledger.errors import InvalidInput
from caseledger.nodes.service import convert
from caseledger.v1 import types_pb2


@dataclass(frozen=True)
class Table:
    ledger: type[CodeTable]
    proto: EnumDescriptor
    cli: Vocabulary

    @property
    def name(self) -> str:
        return self.ledger.__name__

    @property
    def prefix(self) -> str:
        """What the proto enum's value names start with (`CASE_TYPE_`)."""
        return self.proto.values_by_number[0].name.removesuffix("UNSPECIFIED")

    def numbers(self) -> list[int]:
        """The proto numbers that carry a value: all but 0, *_UNSPECIFIED."""
        return [value.number for value in self.proto.values if value.number != 0]

    def member(self, number: int) -> CodeTable | None:
        """The ledger member `convert` reads `number` as, if any."""
        try:
            return convert.code_of(number, self.ledger, self.name)
        except InvalidInput:
            return None


def _table(ledger_table: type[CodeTable], cli_vocabulary: Vocabulary) -> Table:
    proto = types_pb2.DESCRIPTOR.enum_types_by_name[ledger_table.__name__]
    return Table(ledger_table, proto, cli_vocabulary)


TABLES = [
    _table(ledger.ApplicantType, cli.APPLICANT_TYPES),
    _table(ledger.CaseType, cli.CASE_TYPES),
    _table(ledger.ItemType, cli.ITEM_TYPES),
    _table(ledger.ExercisingLevel, cli.EXERCISING_LEVELS),
    _table(ledger.ConclusionResult, cli.CONCLUSION_RESULTS),
    _table(ledger.SpecialProcedureKind, cli.SPECIAL_PROCEDURE_KINDS),
    _table(ledger.Satisfaction, cli.SATISFACTIONS),
    _table(ledger.RatingChannel, cli.RATING_CHANNELS),
    _table(ledger.SubmissionChannel, cli.SUBMISSION_CHANNELS),
]

LEDGER_CODES = [
    pytest.param(table, member, id=f"{table.name}-code-{member.code}")
    for table in TABLES
    for member in table.ledger
]
PROTO_NUMBERS = [
    pytest.param(table, number, id=f"{table.name}-proto-{number}")
    for table in TABLES
    for number in table.numbers()
]
CLI_TERMS = [
    pytest.param(table, term, id=f"{table.name}-cli-{term.name}")
    for table in TABLES
    for term in table.cli
]
NODE_ONLY_TERMS = [
    pytest.param(table, term, id=f"{table.name}-cli-{term.name}")
    for table in TABLES
    for term in table.cli
    if not term.offered
]


def test_every_code_table_on_the_wire_is_checked() -> None:
    checked = {table.name for table in TABLES}
    on_the_wire = {
        table.__name__
        for table in CodeTable.__subclasses__()
        if table.__name__ in types_pb2.DESCRIPTOR.enum_types_by_name
    }
    assert on_the_wire == checked


def test_every_cli_vocabulary_with_codes_is_checked() -> None:
    with_codes = {
        name
        for name, value in vars(cli).items()
        if isinstance(value, Vocabulary) and any(term.code for term in value)
    }
    assert with_codes == {
        name for name, value in vars(cli).items() if any(value is t.cli for t in TABLES)
    }


@pytest.mark.parametrize(("table", "member"), LEDGER_CODES)
def test_each_ledger_code_has_exactly_one_proto_number(table: Table, member: CodeTable) -> None:
    number = convert.number_of(member)
    assert number in table.numbers(), f"{table.name} {member.code}: {number} is not on the wire"
    assert [n for n in table.numbers() if table.member(n) is member] == [number], (
        f"{table.name} {member.code} ({member.label}): read from other numbers as well"
    )
    assert table.proto.values_by_number[number].name == table.prefix + member.name, (
        f"{table.name} {member.code} ({member.label}) is another value on the wire"
    )


@pytest.mark.parametrize(("table", "member"), LEDGER_CODES)
def test_each_ledger_code_has_exactly_one_cli_term_with_its_label(
    table: Table, member: CodeTable
) -> None:
    terms = [term for term in table.cli if term.code == member.code]
    assert len(terms) == 1, f"{table.name} {member.code}: CLI terms {terms}"
    (term,) = terms
    assert term.label == member.label, f"{table.name} {member.code}"
    assert term.value == convert.number_of(member), (
        f"{table.name} {member.code} ({member.label}): the CLI sends another number"
    )


@pytest.mark.parametrize(("table", "number"), PROTO_NUMBERS)
def test_each_proto_number_has_a_ledger_code_and_exactly_one_cli_term(
    table: Table, number: int
) -> None:
    name = table.proto.values_by_number[number].name
    member = table.member(number)
    assert member is not None, f"{table.name} {name} = {number}: no ledger code"
    assert convert.number_of(member) == number, f"{table.name} {name} = {number}"
    terms = [term for term in table.cli if term.value == number]
    assert len(terms) == 1, f"{table.name} {name} = {number}: CLI terms {terms}"
    (term,) = terms
    assert (term.code, term.label) == (member.code, member.label), f"{table.name} {name} = {number}"


@pytest.mark.parametrize(("table", "term"), CLI_TERMS)
def test_each_cli_term_has_a_proto_number_and_its_ledger_code(table: Table, term: Term) -> None:
    assert term.value in table.numbers(), f"{table.name} {term.name}: {term.value} is no value"
    member = table.member(term.value)
    assert member is not None, f"{table.name} {term.name}: no ledger code for {term.value}"
    assert (term.code, term.label) == (member.code, member.label), f"{table.name} {term.name}"


@pytest.mark.parametrize(("table", "term"), NODE_ONLY_TERMS)
def test_a_node_only_cli_term_shows_a_real_value(table: Table, term: Term) -> None:
    member = table.member(term.value)
    assert member is not None, f"{table.name} {term.name}: {term.value} is no ledger value"
    assert table.cli.label(convert.number_of(member)) == member.label
    assert table.cli.code(convert.number_of(member)) == member.code
