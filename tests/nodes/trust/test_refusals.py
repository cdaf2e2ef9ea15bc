"""Who may call a node, over real mutual TLS with a network PKI of the test's own:
each caller that is not allowed is refused as specified, and nothing is written.

Refused in the TLS handshake (the caller sees UNAVAILABLE; no call reaches the
node): no client certificate, one from another CA, an expired one. Refused per
call, with an ErrorInfo reason: a revoked certificate (revoked while the node
runs), a node outside the shape of the network, a trail with an author who did not
hold the case, and every operator token that does not allow the command.
"""

from __future__ import annotations

import datetime
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from caseledger.ledger.catalogue import REFERENCE_DATA_TOPICS
from caseledger.nodes.config import NodeConfig
from caseledger.nodes.identity import (
    APPROVER,
    DATA_PROTECTION_OFFICER,
    WINDOW_CLERK,
    init_provider,
    issue_token,
)
from caseledger.nodes.service.server import RunningNode, start
from caseledger.nodes.trust.clients import CLIENT_URI_PREFIX
from caseledger.nodes.trust.layout import write_private_key
from caseledger.nodes.trust.revocation import GATE_RECHECK, REASONS, revoke
from caseledger.nodes.trust.transport import KeyPair, Transport
from caseledger.v1 import (
    handoff_pb2,
    handoff_pb2_grpc,
    ledger_pb2,
    ledger_pb2_grpc,
    log_pb2,
    log_pb2_grpc,
)
from tests.nodes import requests as rq
from tests.pki import AUDIENCE, TestPki

LIXIA = "370102000000"  # 历下区, the node under test
PINGYIN = "370124000000"  # 平阴县, a sibling county
TOWNSHIP = "370102001000"  # 解放路街道, below Lixia
PROVINCE = "370000000000"


@dataclass
class Network:
    pki: TestPki
    lixia: RunningNode
    pingyin: RunningNode
    folder: Path

    def written(self, node: RunningNode | None = None) -> int:
        return (node or self.lixia).ledger.recorder.max_notification_id() or 0

    def client(self, token: str | None, node: RunningNode | None = None) -> grpc.Channel:
        return self.pki.client().channel((node or self.lixia).address, token=token)

    def as_node(self, code: str, node: RunningNode | None = None) -> grpc.Channel:
        return self.pki.node(self.folder / "callers" / code, code).channel(
            (node or self.lixia).address
        )

    def token(self, roles: list[str], division: str = LIXIA) -> str:
        return self.pki.operator_token(f"op-{uuid.uuid4().hex[:6]}", roles, division)


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    folder = tmp_path_factory.mktemp("refusals")
    pki = TestPki(folder / "pki")
    nodes = {}
    directory: dict[str, str] = {}
    for code in (LIXIA, PINGYIN):
        config = NodeConfig(code=code, data_dir=folder / code, allow_client_time=True)
        nodes[code] = start(pki.secured(config), (), directory)
        directory[code] = nodes[code].address
    built = Network(pki, nodes[LIXIA], nodes[PINGYIN], folder)
    with built.client(pki.token) as channel:
        ledger_pb2_grpc.LedgerServiceStub(channel).PublishItem(rq.publish_item())
    yield built
    for node in nodes.values():
        node.stop(grace=0)


def reason_of(error: grpc.RpcError) -> str:
    assert isinstance(error, grpc.Call)
    status = rpc_status.from_call(error)
    assert status is not None, f"no rich status: {error}"
    for detail in status.details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return str(info.reason)
    raise AssertionError(f"no ErrorInfo in {error}")


def refused(call: object, code: grpc.StatusCode) -> grpc.RpcError:
    """Run `call` (a zero-argument callable) and return the refusal, checking its code."""
    assert callable(call)
    with pytest.raises(grpc.RpcError) as caught:
        call()
    assert caught.value.code() is code, caught.value
    return caught.value


def submit(channel: grpc.Channel) -> ledger_pb2.SubmitResponse:
    reply: ledger_pb2.SubmitResponse = ledger_pb2_grpc.LedgerServiceStub(channel).Submit(
        rq.submit(), timeout=10
    )
    return reply


# -- the handshake ----------------------------------------------------------------------


def test_a_caller_without_a_certificate_is_refused_in_the_handshake(network: Network) -> None:
    before = network.written()
    ca = network.pki.folder.ca_cert.read_bytes()
    with grpc.secure_channel(
        network.lixia.address, grpc.ssl_channel_credentials(root_certificates=ca)
    ) as channel:
        refused(lambda: submit(channel), grpc.StatusCode.UNAVAILABLE)
    assert network.written() == before


def test_a_certificate_from_another_ca_is_refused_in_the_handshake(
    network: Network, tmp_path: Path
) -> None:
    before = network.written()
    stranger = TestPki(tmp_path / "other-pki", "another-network").client()
    assert stranger.pair is not None
    # It trusts our CA, so only our node's check of its certificate can fail.
    trusting = Transport(
        KeyPair(stranger.pair.key, stranger.pair.cert, network.pki.folder.ca_cert.read_bytes())
    )
    with trusting.channel(network.lixia.address) as channel:
        refused(lambda: submit(channel), grpc.StatusCode.UNAVAILABLE)
    assert network.written() == before


def test_an_expired_certificate_is_refused_in_the_handshake(
    network: Network, tmp_path: Path
) -> None:
    before = network.written()
    key = ec.generate_private_key(ec.SECP256R1())
    authority = network.pki.authority
    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=2)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "client expired")]))
        .issuer_name(authority.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(past - datetime.timedelta(days=1))
        .not_valid_after(past)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.UniformResourceIdentifier(CLIENT_URI_PREFIX + "expired")]
            ),
            critical=False,
        )
        .sign(authority.key, authority.hash_algorithm)
    )
    write_private_key(tmp_path / "client.key", key)
    pair = KeyPair(
        (tmp_path / "client.key").read_bytes(),
        cert.public_bytes(Encoding.PEM),
        network.pki.folder.ca_cert.read_bytes(),
    )
    with Transport(pair).channel(network.lixia.address) as channel:
        refused(lambda: submit(channel), grpc.StatusCode.UNAVAILABLE)
    assert network.written() == before


# -- per call: the certificate ------------------------------------------------------------


def test_a_certificate_revoked_while_the_node_runs_is_refused_once_the_gate_looks_again(
    network: Network,
) -> None:
    # The gate reads the list at most once per GATE_RECHECK seconds: a call
    # made that long after the revoke is refused.
    folder = network.pki.client_folder("revoked-desk")
    cert = x509.load_pem_x509_certificate((folder / "client.crt").read_bytes())
    transport = network.pki.client("revoked-desk")
    with transport.channel(network.lixia.address, token=network.pki.token) as channel:
        submit(channel)  # accepted before the revocation
        before = network.written()
        revoke(network.pki.authority, [cert.serial_number], REASONS["key_compromise"])
        time.sleep(GATE_RECHECK)
        error = refused(lambda: submit(channel), grpc.StatusCode.UNAUTHENTICATED)
    assert reason_of(error) == "CERTIFICATE_REVOKED"
    assert network.written() == before


def test_a_client_certificate_is_refused_on_the_handoff_service(network: Network) -> None:
    """The forged delivery of an invented case, as a stock client would send it."""
    before = network.written()
    with network.client(network.pki.token) as channel:
        error = refused(
            lambda: handoff_pb2_grpc.HandoffServiceStub(channel).DeliverTrail(
                handoff_pb2.DeliverTrailRequest(
                    from_node=TOWNSHIP, case_id=str(uuid.uuid4()), records=[]
                )
            ),
            grpc.StatusCode.PERMISSION_DENIED,
        )
    assert reason_of(error) == "NODES_ONLY"
    assert network.written() == before


# -- per call: the network's shape --------------------------------------------------------


def test_a_township_is_refused_its_countys_case_log(network: Network) -> None:
    with network.as_node(TOWNSHIP) as channel:
        stub = log_pb2_grpc.LogServiceStub(channel)
        error = refused(
            lambda: list(stub.StreamLog(log_pb2.StreamLogRequest(after=0, limit=10))),
            grpc.StatusCode.PERMISSION_DENIED,
        )
        assert reason_of(error) == "REFERENCE_ONLY"
        # ... and gets the catalogue (reference events) it is there for.
        batches = list(
            stub.StreamLog(
                log_pb2.StreamLogRequest(after=0, limit=10, topics=list(REFERENCE_DATA_TOPICS))
            )
        )
    assert batches
    assert all(r.topic in REFERENCE_DATA_TOPICS for b in batches for r in b.records)


def test_a_sibling_county_is_refused_the_log(network: Network) -> None:
    with network.as_node(PINGYIN) as channel:
        error = refused(
            lambda: list(
                log_pb2_grpc.LogServiceStub(channel).StreamLog(
                    log_pb2.StreamLogRequest(after=0, limit=10)
                )
            ),
            grpc.StatusCode.PERMISSION_DENIED,
        )
    assert reason_of(error) == "NOT_AN_ANCESTOR"


def test_the_city_above_gets_the_case_log(network: Network) -> None:
    with network.client(network.pki.token) as channel:
        submit(channel)
    with network.as_node(rq.JINAN) as channel:
        batches = list(
            log_pb2_grpc.LogServiceStub(channel).StreamLog(
                log_pb2.StreamLogRequest(after=0, limit=50)
            )
        )
    assert any("Submitted" in r.topic for b in batches for r in b.records)


def test_a_node_that_names_another_as_the_sender_is_refused(network: Network) -> None:
    before = network.written()
    with network.as_node(PINGYIN) as channel:
        error = refused(
            lambda: handoff_pb2_grpc.HandoffServiceStub(channel).DeliverTrail(
                handoff_pb2.DeliverTrailRequest(
                    from_node=TOWNSHIP, case_id=str(uuid.uuid4()), records=[]
                )
            ),
            grpc.StatusCode.PERMISSION_DENIED,
        )
    assert reason_of(error) == "SENDER_MISMATCH"
    assert network.written() == before


def test_a_node_that_never_owned_a_case_cannot_deliver_its_trail(network: Network) -> None:
    with network.client(network.pki.token) as channel:
        number = submit(channel).result.case_number
    case_id = network.lixia.ledger.resolve(number)
    trail = network.lixia.ledger.stored_trail(case_id)
    received = network.pingyin.ledger.received
    assert received is not None
    with network.as_node(TOWNSHIP, network.pingyin) as channel:
        error = refused(
            lambda: handoff_pb2_grpc.HandoffServiceStub(channel).DeliverTrail(
                handoff_pb2.DeliverTrailRequest(
                    from_node=TOWNSHIP,
                    case_id=str(case_id),
                    records=[
                        handoff_pb2.TrailRecord(
                            version=e.originator_version, topic=e.topic, state=e.state
                        )
                        for e in trail
                    ],
                )
            ),
            grpc.StatusCode.PERMISSION_DENIED,
        )
    assert reason_of(error) == "SENDER_NOT_OWNER"
    assert received.stored(case_id) == []


# -- per call: the operator's token --------------------------------------------------------


def test_a_call_without_a_token_is_unauthenticated(network: Network) -> None:
    before = network.written()
    with network.client(None) as channel:
        error = refused(lambda: submit(channel), grpc.StatusCode.UNAUTHENTICATED)
    assert reason_of(error) == "TOKEN_MISSING"
    assert network.written() == before


def test_an_operator_of_lixia_is_refused_at_pingyin(network: Network) -> None:
    before = network.written(network.pingyin)
    with network.client(network.token([WINDOW_CLERK], LIXIA), network.pingyin) as channel:
        error = refused(lambda: submit(channel), grpc.StatusCode.PERMISSION_DENIED)
    assert reason_of(error) == "JURISDICTION"
    assert network.written(network.pingyin) == before


def test_a_window_clerk_cannot_erase_a_subject(network: Network) -> None:
    before = network.written()
    with network.client(network.token([WINDOW_CLERK])) as channel:
        stub = ledger_pb2_grpc.LedgerServiceStub(channel)
        error = refused(
            lambda: stub.EraseSubject(rq.erase_subject()), grpc.StatusCode.PERMISSION_DENIED
        )
    assert reason_of(error) == "ROLE"
    assert network.written() == before


def test_a_machine_account_cannot_erase_for_a_window_clerk(network: Network) -> None:
    before = network.written()
    request = rq.erase_subject()
    request.meta.operator.role = WINDOW_CLERK
    with network.client(network.pki.token) as channel:
        stub = ledger_pb2_grpc.LedgerServiceStub(channel)
        error = refused(lambda: stub.EraseSubject(request), grpc.StatusCode.PERMISSION_DENIED)
    assert reason_of(error) == "ROLE"
    assert network.written() == before


@pytest.mark.parametrize(
    ("problem", "reason"),
    [
        ("expired", "TOKEN_EXPIRED"),
        ("unknown key", "TOKEN_UNKNOWN_KEY"),
        ("another audience", "TOKEN_AUDIENCE"),
    ],
)
def test_a_bad_token_is_unauthenticated_and_writes_nothing(
    network: Network, tmp_path: Path, problem: str, reason: str
) -> None:
    claims: dict[str, object] = {
        "operator_id": "lixia.window.09",
        "name": "窗口九",
        "roles": [WINDOW_CLERK],
        "division": LIXIA,
        "audience": AUDIENCE,
    }
    provider = network.pki.identity.root
    if problem == "expired":
        claims["now"] = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
    elif problem == "unknown key":
        provider = tmp_path / "another-provider"
        init_provider(provider)
    else:
        claims["audience"] = "another-network"
    token = issue_token(provider, **claims)  # type: ignore[arg-type]
    before = network.written()
    with network.client(token) as channel:
        error = refused(lambda: submit(channel), grpc.StatusCode.UNAUTHENTICATED)
    assert reason_of(error) == reason
    assert network.written() == before


def test_an_operators_own_token_is_what_the_event_records(network: Network) -> None:
    token = network.token([WINDOW_CLERK, APPROVER, DATA_PROTECTION_OFFICER])
    with network.client(token) as channel:
        number = submit(channel).result.case_number
    (event,) = network.lixia.ledger.trail(number)[:1]
    assert event.operator_id.startswith("op-")  # the token's subject, not the request's clerk-007
    assert event.operator_role == WINDOW_CLERK  # the first of its roles allowed to submit
    vouched = event.payload["authenticated"]
    assert vouched["subject"] == event.operator_id
    assert vouched["division"] == LIXIA
    assert vouched["key_id"]
    assert vouched["issuer"]


def test_a_machine_account_records_the_operator_it_acts_for_and_itself(
    network: Network,
) -> None:
    with network.client(network.pki.token) as channel:
        number = submit(channel).result.case_number
    (event,) = network.lixia.ledger.trail(number)[:1]
    assert (event.operator_id, event.operator_role) == ("clerk-007", WINDOW_CLERK)
    assert event.payload["authenticated"]["subject"] == "test-system"
    assert event.payload["authenticated"]["division"] == PROVINCE
