"""`caseledger catalogue`: publish an item (事项) from a file, list them, show one.

An item file is JSON or YAML with the fields of `ItemTerms`; enumerations
are written as their national codes (`item_type: "01"` for 行政许可), as in
the catalogue data provinces exchange. `docs/items.md` documents the format
and `docs/examples/item.yaml` is a complete file. `catalogue show --json` prints the
same form, so an item can be fetched, edited and published again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
import yaml
from rich.markup import escape
from rich.table import Table

from caseledger.cli.output import console, emit_json
from caseledger.cli.session import Session
from caseledger.cli.vocabulary import CASE_TYPES, EXERCISING_LEVELS, ITEM_TYPES, Vocabulary
from caseledger.v1 import ledger_pb2, types_pb2

_CODED: dict[str, Vocabulary] = {
    "item_type": ITEM_TYPES,
    "exercising_level": EXERCISING_LEVELS,
    "case_type": CASE_TYPES,
}
_TEXT = ("implementation_code", "name")
_DAYS = ("statutory_days", "promised_days")
_FIELDS = (*_TEXT, *_CODED, *_DAYS, "required_materials", "issues_certificate")


class ItemFileError(ValueError):
    """An item file that cannot become `ItemTerms`; the message names the field."""


def _coded(field: str, value: Any) -> int:
    vocabulary = _CODED[field]
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML reads an unquoted `01` as the number 1: restore the code's width.
        value = str(value).zfill(max(len(term.code) for term in vocabulary))
    term = vocabulary.find(value) if isinstance(value, str) else None
    if term is None:
        raise ItemFileError(
            f"{field}: unknown {vocabulary.kind} {value!r}; expected one of {vocabulary.listing()}"
        )
    return term.value


def terms_from_document(document: Any) -> ledger_pb2.ItemTerms:
    """The `ItemTerms` an item file describes; `ItemFileError` naming the first bad field."""
    if not isinstance(document, Mapping):
        raise ItemFileError("the file must hold one mapping of ItemTerms fields")
    unknown = sorted(set(map(str, document)) - set(_FIELDS))
    if unknown:
        raise ItemFileError(f"unknown fields {', '.join(unknown)}; expected {', '.join(_FIELDS)}")
    terms = ledger_pb2.ItemTerms()
    for field in _TEXT:
        if field in document:
            value = document[field]
            if not isinstance(value, str):
                raise ItemFileError(f"{field}: must be text, got {value!r}")
            setattr(terms, field, value)
    for field in _CODED:
        if field in document:
            setattr(terms, field, _coded(field, document[field]))
    for field in _DAYS:
        days = document.get(field, 0)
        if not isinstance(days, int) or isinstance(days, bool):
            raise ItemFileError(f"{field}: must be a whole number of working days, got {days!r}")
        setattr(terms, field, days)
    materials = document.get("required_materials", [])
    if not isinstance(materials, list) or not all(isinstance(m, str) for m in materials):
        raise ItemFileError("required_materials: must be a list of material names")
    terms.required_materials.extend(materials)
    certificate = document.get("issues_certificate", False)
    if not isinstance(certificate, bool):
        raise ItemFileError(f"issues_certificate: must be true or false, got {certificate!r}")
    terms.issues_certificate = certificate
    return terms


def document_from_terms(terms: ledger_pb2.ItemTerms) -> dict[str, Any]:
    """The item-file form of `terms` (the inverse of `terms_from_document`)."""
    return {
        "implementation_code": terms.implementation_code,
        "name": terms.name,
        **{field: _CODED[field].code(getattr(terms, field)) for field in _CODED},
        "statutory_days": terms.statutory_days,
        "promised_days": terms.promised_days,
        "required_materials": list(terms.required_materials),
        "issues_certificate": terms.issues_certificate,
    }


def read_item_file(path: Path) -> ledger_pb2.ItemTerms:
    try:
        text = path.read_text(encoding="utf-8")
        document = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        raise ItemFileError(
            f"not valid {path.suffix.lstrip('.').upper() or 'YAML'}: {error}"
        ) from error
    return terms_from_document(document)


@click.group()
def catalogue() -> None:
    """The item catalogue (事项目录) a node accepts cases for."""


@catalogue.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@click.pass_obj
def publish(session: Session, file: Path, as_json: bool) -> None:
    """Publish or revise an item from FILE (JSON, or YAML for any other suffix).

    \b
    FILE holds one mapping of these fields (docs/items.md describes each;
    docs/examples/item.yaml is a complete file):
      implementation_code  31 characters: the implementing body's 18-character
                           credit code (its last one a check character), the
                           exercising level (1 digit), the 12-digit basic code
      name                 事项名称
      item_type            code, e.g. "01" 行政许可
      exercising_level     code, e.g. "4" 县级
      case_type            "1" 即办件, "2" 承诺件, "4" 上报件, "9" 其他
      statutory_days       法定时限, working days
      promised_days        承诺时限, working days, at most statutory_days
      required_materials   list of material names (申请材料)
      issues_certificate   true or false (出证)
    """
    try:
        terms = read_item_file(file)
    except ItemFileError as error:
        raise click.BadParameter(str(error), param_hint=f"FILE {file}") from None
    response = session.ledger.PublishItem(
        ledger_pb2.PublishItemRequest(terms=terms, meta=session.meta()), timeout=session.timeout
    )
    if as_json:
        emit_json({"implementation_code": terms.implementation_code, "version": response.version})
    else:
        console().print(
            f"published item {terms.implementation_code} {escape(terms.name)} "
            f"(version {response.version})"
        )


@catalogue.command()
@click.argument("code")
@click.option("--json", "as_json", is_flag=True, help="Print the item file form, as JSON.")
@click.pass_obj
def show(session: Session, code: str, as_json: bool) -> None:
    """Show the item whose implementation code (实施编码, 31 characters) is CODE."""
    response = session.ledger.GetItem(
        ledger_pb2.GetItemRequest(implementation_code=code), timeout=session.timeout
    )
    terms = response.terms
    if as_json:
        emit_json(document_from_terms(terms))
        return
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    for label, value in (
        ("实施编码 code", terms.implementation_code),
        ("名称 name", terms.name),
        ("事项类型 type", _coded_text(ITEM_TYPES, terms.item_type)),
        ("行使层级 level", _coded_text(EXERCISING_LEVELS, terms.exercising_level)),
        ("办件类型 case type", _coded_text(CASE_TYPES, terms.case_type)),
        ("法定时限 statutory", f"{terms.statutory_days} working days"),
        ("承诺时限 promised", f"{terms.promised_days} working days"),
        ("材料 materials", "\n".join(terms.required_materials) or "-"),
        ("出证 certificate", "yes" if terms.issues_certificate else "no"),
    ):
        table.add_row(label, escape(value))
    console().print(table)


@catalogue.command("list")
@click.option("--json", "as_json", is_flag=True, help="The items in the item file form, as JSON.")
@click.pass_obj
def list_items(session: Session, as_json: bool) -> None:
    """Every item the node knows (published there or received from above), by code:
    its name, time limits (即办 or 承诺 days) and required materials."""
    items = list(
        session.ledger.ListItems(ledger_pb2.ListItemsRequest(), timeout=session.timeout).items
    )
    if as_json:
        emit_json([document_from_terms(terms) for terms in items])
        return
    table = Table(title=f"事项目录 catalogue at {session.address}")
    table.add_column("实施编码 code", no_wrap=True, min_width=31)
    for header in (
        "名称 name",
        "办件类型 case type",
        "时限 limits",
        "申请材料 required materials",
        "出证 certificate",
    ):
        table.add_column(header)
    for terms in items:
        table.add_row(
            terms.implementation_code,
            escape(terms.name),
            _coded_text(CASE_TYPES, terms.case_type),
            limits_text(terms),
            escape("\n".join(terms.required_materials) or "-"),
            "yes" if terms.issues_certificate else "no",
        )
    out = console()
    out.print(table)
    out.print(f"{len(items)} items")


def limits_text(terms: ledger_pb2.ItemTerms) -> str:
    """即办 (done on the spot) or 承诺 N of the statutory M working days."""
    if terms.case_type == types_pb2.CASE_TYPE_IMMEDIATE:
        return f"即办 immediate (法定 {terms.statutory_days} working days)"
    return f"承诺 {terms.promised_days} / 法定 {terms.statutory_days} working days"


def _coded_text(vocabulary: Vocabulary, value: int) -> str:
    return f"{vocabulary.code(value)} {vocabulary.label(value)}".strip()
