"""Item files become `ItemTerms`, with national codes mapped to proto enums."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from caseledger.cli.catalogue import ItemFileError, document_from_terms, terms_from_document
from caseledger.cli.main import cli
from caseledger.v1 import ledger_pb2, types_pb2
from tests.cli.fakes import ITEM_DOCUMENT, FakeLedger

FOOD = ITEM_DOCUMENT

FOOD_YAML = """\
implementation_code: {code}
name: 食品经营许可证核发
item_type: 01          # unquoted: YAML reads the number 1
exercising_level: 4
case_type: "2"
statutory_days: 20
promised_days: 10
required_materials: [食品经营许可申请书, 营业执照复印件]
issues_certificate: true
""".format(code=FOOD["implementation_code"])


def test_codes_map_to_proto_enums() -> None:
    terms = terms_from_document(FOOD)
    assert terms.item_type == types_pb2.ITEM_TYPE_LICENSING
    assert terms.exercising_level == types_pb2.EXERCISING_LEVEL_COUNTY
    assert terms.case_type == types_pb2.CASE_TYPE_PROMISED
    assert (terms.statutory_days, terms.promised_days) == (20, 10)
    assert list(terms.required_materials) == FOOD["required_materials"]
    assert terms.issues_certificate


def test_item_type_00_is_administrative_power_not_unspecified() -> None:
    terms = terms_from_document({**FOOD, "item_type": "00"})
    assert terms.item_type == types_pb2.ITEM_TYPE_ADMINISTRATIVE_POWER


def test_a_chinese_label_is_accepted_for_a_code() -> None:
    assert terms_from_document({**FOOD, "item_type": "公共服务"}).item_type == (
        types_pb2.ITEM_TYPE_PUBLIC_SERVICE
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"item_type": "99"}, "item_type"),
        ({"case_type": "3"}, "case_type"),
        ({"statutory_days": "20"}, "statutory_days"),
        ({"required_materials": "申请书"}, "required_materials"),
        ({"issues_certificate": "yes"}, "issues_certificate"),
        ({"promised_day": 10}, "promised_day"),
    ],
)
def test_a_bad_field_is_named(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ItemFileError, match=field):
        terms_from_document({**FOOD, **change})


def test_the_show_form_publishes_the_same_terms() -> None:
    terms = terms_from_document(FOOD)
    assert document_from_terms(terms) == FOOD
    assert terms_from_document(document_from_terms(terms)) == terms


def test_publish_reads_yaml_with_unquoted_codes(tmp_path: Path) -> None:
    item_file = tmp_path / "food.yaml"
    item_file.write_text(FOOD_YAML, encoding="utf-8")
    ledger = FakeLedger(answers={"PublishItem": ledger_pb2.PublishItemResponse(version=1)})
    result = CliRunner().invoke(cli, ["catalogue", "publish", str(item_file)], obj=ledger.connect)
    assert result.exit_code == 0, result.output
    assert ledger.only_request().terms == terms_from_document(FOOD)
    assert f"published item {FOOD['implementation_code']}" in result.output


def test_publish_refuses_a_bad_file_without_calling_the_node(tmp_path: Path) -> None:
    item_file = tmp_path / "food.json"
    item_file.write_text(json.dumps({**FOOD, "item_type": "77"}), encoding="utf-8")
    ledger = FakeLedger()
    result = CliRunner().invoke(cli, ["catalogue", "publish", str(item_file)], obj=ledger.connect)
    assert result.exit_code == 2
    assert "item_type" in result.stderr
    assert ledger.calls == []


def test_show_json_prints_the_item_file_form() -> None:
    ledger = FakeLedger(
        answers={"GetItem": ledger_pb2.GetItemResponse(terms=terms_from_document(FOOD))}
    )
    result = CliRunner().invoke(
        cli, ["catalogue", "show", FOOD["implementation_code"], "--json"], obj=ledger.connect
    )
    assert json.loads(result.output) == FOOD


def test_show_prints_code_and_label() -> None:
    ledger = FakeLedger(
        answers={"GetItem": ledger_pb2.GetItemResponse(terms=terms_from_document(FOOD))}
    )
    result = CliRunner().invoke(cli, ["catalogue", "show", "X"], obj=ledger.connect)
    assert "01 行政许可" in result.output
    assert "承诺件" in result.output
