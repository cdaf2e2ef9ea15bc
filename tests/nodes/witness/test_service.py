"""The AuditService's witness RPCs: what they refuse, and what a node that
witnessed nothing yet answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from caseledger.nodes.service.server import RunningNode, start
from caseledger.v1 import audit_pb2, audit_pb2_grpc
from tests.nodes.replication.feeds import COUNTY
from tests.nodes.stores import fresh_nodes, node_config
from tests.nodes.witness.harness import forks, stopped, witness_key, witnessed, witnessing
from tests.pki import client_channel


@pytest.fixture
def bare(tmp_path: Path) -> Iterator[RunningNode]:
    """A node started without its witness."""
    fresh_nodes("sqlite", COUNTY)
    node = start(node_config(COUNTY, tmp_path / "bare", "sqlite", witness=False))
    yield node
    stopped(node)


def call(node: RunningNode, rpc: str, request: object) -> grpc.RpcError:
    with client_channel(node.address) as channel:
        stub = audit_pb2_grpc.AuditServiceStub(channel)
        with pytest.raises(grpc.RpcError) as raised:
            getattr(stub, rpc)(request, timeout=10)
    return raised.value


def test_a_node_that_witnesses_no_one_says_so(bare: RunningNode) -> None:
    error = call(bare, "ListForks", audit_pb2.ListForksRequest())
    assert error.code() is grpc.StatusCode.FAILED_PRECONDITION
    error = call(bare, "GetWitnessed", audit_pb2.GetWitnessedRequest())
    assert error.code() is grpc.StatusCode.FAILED_PRECONDITION


def test_a_bad_division_code_is_refused(bare: RunningNode) -> None:
    witnessing(bare)
    error = call(bare, "GetWitnessed", audit_pb2.GetWitnessedRequest(node="37010"))
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    error = call(bare, "ListForks", audit_pb2.ListForksRequest(node="x" * 12))
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT


def test_a_witness_that_saw_nothing_yet_lists_nothing_and_names_its_key(
    bare: RunningNode,
) -> None:
    witnessing(bare)
    assert witnessed(bare) == []
    assert forks(bare) == []
    assert witness_key(bare).startswith(f"caseledger.example/370000000000/{COUNTY}+")
