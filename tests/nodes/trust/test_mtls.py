"""One real mutual-TLS handshake with grpcio and the certificates the PKI issued,
on loopback: a node certificate gets in, and the server reads the peer's division
code from it; no certificate, or another CA's, does not."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from cryptography.x509.oid import NameOID

from caseledger.nodes.trust import Authority, IssuedCertificate, division_code_of, issue
from tests.nodes.trust.conftest import CITY, PROVINCE
from tests.timing import scaled

_METHOD = "/caseledger.test.Whoami/Code"


@dataclass(frozen=True)
class NodeFiles:
    key: bytes
    chain: bytes


def files_of(made: IssuedCertificate, code: str) -> NodeFiles:
    data = made.written[0].parent
    return NodeFiles(
        (data / f"{code}.tls.key").read_bytes(), (data / f"{code}.node.crt").read_bytes()
    )


def whoami(request: bytes, context: grpc.ServicerContext) -> bytes:
    """The caller's division code, from the certificate the handshake verified."""
    # grpc-stubs types each auth context value as bytes; grpcio gives a list of them.
    pem = cast("list[bytes]", context.auth_context()["x509_pem_cert"])[0]
    return division_code_of(x509.load_pem_x509_certificate(pem)).encode()


@pytest.fixture
def server_port(authority: Authority, province: IssuedCertificate) -> Iterator[int]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    handler = grpc.method_handlers_generic_handler(
        "caseledger.test.Whoami", {"Code": grpc.unary_unary_rpc_method_handler(whoami)}
    )
    server.add_generic_rpc_handlers((handler,))
    mine = files_of(province, PROVINCE)
    credentials = grpc.ssl_server_credentials(
        [(mine.key, mine.chain)],
        root_certificates=authority.folder.ca_cert.read_bytes(),
        require_client_auth=True,
    )
    port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    yield port
    server.stop(grace=None)


def call(port: int, credentials: grpc.ChannelCredentials) -> bytes:
    with grpc.secure_channel(f"127.0.0.1:{port}", credentials) as channel:
        answer: bytes = channel.unary_unary(_METHOD, None, None)(b"", timeout=scaled(10))
        return answer


def test_a_node_certificate_of_the_network_gets_in_and_names_its_node(
    authority: Authority, server_port: int, tmp_path: Path
) -> None:
    city = files_of(issue(authority, CITY, data=tmp_path / "city"), CITY)
    credentials = grpc.ssl_channel_credentials(
        authority.folder.ca_cert.read_bytes(), city.key, city.chain
    )
    assert call(server_port, credentials) == CITY.encode()


def test_a_client_without_a_certificate_is_refused(authority: Authority, server_port: int) -> None:
    credentials = grpc.ssl_channel_credentials(authority.folder.ca_cert.read_bytes())
    with pytest.raises(grpc.RpcError) as refused:
        call(server_port, credentials)
    assert refused.value.code() is grpc.StatusCode.UNAVAILABLE


def test_a_client_with_another_cas_certificate_is_refused(
    authority: Authority, foreign_authority: Authority, server_port: int, tmp_path: Path
) -> None:
    stranger = files_of(issue(foreign_authority, CITY, data=tmp_path / "stranger"), CITY)
    credentials = grpc.ssl_channel_credentials(
        authority.folder.ca_cert.read_bytes(), stranger.key, stranger.chain
    )
    with pytest.raises(grpc.RpcError) as refused:
        call(server_port, credentials)
    assert refused.value.code() is grpc.StatusCode.UNAVAILABLE


def test_grpc_tls_refuses_an_ed25519_leaf_so_a_node_has_a_separate_tls_key(
    authority: Authority, server_port: int
) -> None:
    """Why the certificate's subject key is an ECDSA key and not the identity key:
    BoringSSL offers no common signature algorithm for an Ed25519 leaf."""
    key = Ed25519PrivateKey.generate()
    moment = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CITY)]))
        .issuer_name(authority.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(moment - datetime.timedelta(minutes=5))
        .not_valid_after(moment + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.UniformResourceIdentifier(f"urn:caseledger:node:{CITY}")]
            ),
            critical=False,
        )
        .sign(authority.key, authority.hash_algorithm)
    )
    credentials = grpc.ssl_channel_credentials(
        authority.folder.ca_cert.read_bytes(),
        key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()),
        cert.public_bytes(Encoding.PEM),
    )
    with pytest.raises(grpc.RpcError) as refused:
        call(server_port, credentials)
    assert refused.value.code() is grpc.StatusCode.UNAVAILABLE
