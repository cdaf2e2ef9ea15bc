"""PublishItem over gRPC: the catalogue event names the operator who published."""

from __future__ import annotations

import grpc
import pytest

from caseledger.ledger.case.aggregate import Operator
from caseledger.ledger.catalogue import Item, item_id
from caseledger.nodes.service.server import RunningNode
from caseledger.v1 import ledger_pb2, ledger_pb2_grpc
from tests.nodes import requests as rq
from tests.nodes.service.test_bad_input import details
from tests.samples import FOOD_LICENCE

Stub = ledger_pb2_grpc.LedgerServiceStub


def publisher_of(node: RunningNode) -> Operator:
    item: object = node.ledger.repository.get(item_id(FOOD_LICENCE))
    assert isinstance(item, Item)
    return item.changed_by


def test_a_published_item_records_the_operator_of_the_request(
    node: RunningNode, stub: Stub
) -> None:
    meta = rq.meta(role="catalogue_admin")
    stub.PublishItem(ledger_pb2.PublishItemRequest(terms=rq.item_terms(), meta=meta))
    assert publisher_of(node) == Operator(meta.operator.id, "catalogue_admin")


def test_a_revision_records_its_own_operator(node: RunningNode, stub: Stub) -> None:
    stub.PublishItem(ledger_pb2.PublishItemRequest(terms=rq.item_terms(), meta=rq.meta()))
    revised = rq.item_terms()
    revised.name = f"{revised.name}（变更）"
    reviser = rq.meta(role="catalogue_reviewer")
    stub.PublishItem(ledger_pb2.PublishItemRequest(terms=revised, meta=reviser))
    assert publisher_of(node).role == "catalogue_reviewer"


def test_a_publication_without_meta_is_refused_and_publishes_nothing(stub: Stub) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        stub.PublishItem(ledger_pb2.PublishItemRequest(terms=rq.item_terms()))
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    _, violations = details(raised.value)
    assert set(violations) == {"meta.request_id", "meta.operator.id", "meta.operator.role"}
    with pytest.raises(grpc.RpcError) as missing:
        stub.GetItem(ledger_pb2.GetItemRequest(implementation_code=FOOD_LICENCE))
    assert missing.value.code() is grpc.StatusCode.NOT_FOUND


def test_meta_without_an_operator_is_refused_and_publishes_nothing(
    node: RunningNode, stub: Stub
) -> None:
    meta = rq.meta()
    meta.operator.id = ""
    with pytest.raises(grpc.RpcError) as raised:
        stub.PublishItem(ledger_pb2.PublishItemRequest(terms=rq.item_terms(), meta=meta))
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    _, violations = details(raised.value)
    assert set(violations) == {"meta.operator.id"}
    with pytest.raises(grpc.RpcError) as missing:
        stub.GetItem(ledger_pb2.GetItemRequest(implementation_code=FOOD_LICENCE))
    assert missing.value.code() is grpc.StatusCode.NOT_FOUND
