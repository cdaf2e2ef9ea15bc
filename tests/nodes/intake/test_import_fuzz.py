"""ImportCases fuzzed like the other services: no request makes the node answer
UNKNOWN or INTERNAL, and a refused call writes nothing."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caseledger.nodes.bench import data
from caseledger.nodes.config import NodeConfig
from caseledger.nodes.service.server import RunningNode, start
from caseledger.v1 import intake_pb2, ledger_pb2_grpc
from tests.nodes.service.test_fuzz import EXAMPLES, NEVER, call, message_bytes
from tests.pki import client_channel, secured
from tests.samples import LIXIA

_IMPORT = intake_pb2.DESCRIPTOR.services_by_name["IntakeService"].methods_by_name["ImportCases"]
_ids = itertools.count()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningNode, grpc.Channel]]:
    path: Path = tmp_path_factory.mktemp("intake-fuzz")
    node = start(secured(NodeConfig(code=LIXIA, data_dir=path)))
    try:
        with client_channel(node.address) as channel:
            ledger_pb2_grpc.LedgerServiceStub(channel).PublishItem(data.publication("publish"))
            yield node, channel
    finally:
        node.stop(grace=0)


def _well_formed() -> bytes:
    submission = data.submission("")
    submission.meta.request_id = ""
    record = intake_pb2.ImportRecord(record_id=f"fuzz-{next(_ids)}", submission=submission)
    return intake_pb2.ImportCasesRequest(records=[record]).SerializeToString()


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_no_import_request_breaks_the_node(
    served: tuple[RunningNode, grpc.Channel], data: st.DataObject
) -> None:
    node, channel = served
    base = data.draw(st.sampled_from([b"", _well_formed()]), label="base")
    fuzzed = data.draw(message_bytes(_IMPORT.input_type), label="fields")
    tail = data.draw(st.one_of(st.just(b""), st.binary(min_size=1, max_size=8)), label="tail")
    written = node.ledger.recorder.max_notification_id()

    code, details = call(channel, _IMPORT, base + fuzzed + tail)

    assert code not in NEVER, f"{NEVER[code]}: {details}"
    if code is not grpc.StatusCode.OK:
        assert node.ledger.recorder.max_notification_id() == written, f"{code.name} but wrote"
