"""How a node or a client talks gRPC: mutual TLS with the network PKI, or plaintext
only when an operator asked for it by name (`--insecure`).

A node presents its node certificate both as a server and as a client, and
requires one from every caller: the handshake itself turns away a caller with no
certificate, one from another CA, or an expired one. Revocation and the
caller's identity are checked per call by the gate (`caseledger.nodes.trust.gate`),
because gRPC's TLS takes no revocation list.

A node is dialled by the name its certificate carries for its division code
(`node_host`), not by its address: so the handshake also proves that the node
answering is the division the caller meant, whatever address it was found at.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc

from caseledger.nodes.trust.errors import TrustError
from caseledger.nodes.trust.layout import ca_cert_copy, node_cert_file, tls_key_file

NODE_HOST_SUFFIX = ".node.caseledger.internal"
"""A node's certificate names `<code>` + this as a DNS name (`.internal` is reserved
for private use, so no public name can collide with it)."""

ChannelOptions = Sequence[tuple[str, object]]

# A connection that dies without a reset (a firewall or NAT forgetting it, a link
# that drops everything) is noticed by HTTP/2 pings: a caller pings after 20 s
# without traffic and gives up 10 s later, so a stalled log stream is broken and
# resumed from its position instead of waiting forever. The server must allow
# those pings, also on a stream that carries no data while its source is idle.
CHANNEL_KEEPALIVE: tuple[tuple[str, object], ...] = (
    ("grpc.keepalive_time_ms", 20_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
)
SERVER_KEEPALIVE: tuple[tuple[str, object], ...] = (
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_recv_ping_interval_without_data_ms", 10_000),
    ("grpc.http2.max_ping_strikes", 0),
)


def node_host(code: str) -> str:
    return code + NODE_HOST_SUFFIX


@dataclass(frozen=True)
class KeyPair:
    """A PEM private key and certificate, and the network CA's certificate that
    checks the other side."""

    key: bytes
    cert: bytes
    ca: bytes

    @classmethod
    def read(cls, key: Path, cert: Path, ca: Path, hint: str) -> KeyPair:
        try:
            return cls(key.read_bytes(), cert.read_bytes(), ca.read_bytes())
        except OSError as error:
            raise TrustError(f"{error.filename}: {error.strerror}; {hint}") from error


def node_key_pair(data_dir: Path, code: str) -> KeyPair:
    """A node's TLS key, its certificate and the CA certificate, from its data folder."""
    return KeyPair.read(
        tls_key_file(data_dir, code),
        node_cert_file(data_dir, code),
        ca_cert_copy(data_dir),
        f"issue node {code} its certificate (caseledger network pki issue {code} --data "
        f"{data_dir}) or, for a local experiment only, run it with --insecure",
    )


@dataclass(frozen=True)
class Transport:
    """Binds a server and opens channels, over mutual TLS with `pair`, or in
    plaintext when `pair` is None."""

    pair: KeyPair | None

    @property
    def secure(self) -> bool:
        return self.pair is not None

    def bind(self, server: grpc.Server, listen: str) -> int:
        if self.pair is None:
            return server.add_insecure_port(listen)
        credentials = grpc.ssl_server_credentials(
            [(self.pair.key, self.pair.cert)],
            root_certificates=self.pair.ca,
            require_client_auth=True,
        )
        return server.add_secure_port(listen, credentials)

    def channel(
        self,
        address: str,
        node: str | None = None,
        options: ChannelOptions = (),
        token: str | None = None,
    ) -> grpc.Channel:
        """A channel to `address`; given the division code of the `node` expected
        there, the handshake fails unless that node's certificate answers. A client
        passes its operator's `token`, sent with every call."""
        if self.pair is None:
            return grpc.insecure_channel(address, options=[*options, *CHANNEL_KEEPALIVE])
        return grpc.secure_channel(
            address,
            self.channel_credentials(token),
            options=[*options, *CHANNEL_KEEPALIVE, *self.name_options(node)],
        )

    def channel_credentials(self, token: str | None = None) -> grpc.ChannelCredentials:
        """This side's certificate and, for a client, its operator's token as bearer
        credentials (which gRPC sends over TLS only)."""
        assert self.pair is not None
        credentials = grpc.ssl_channel_credentials(
            root_certificates=self.pair.ca,
            private_key=self.pair.key,
            certificate_chain=self.pair.cert,
        )
        if token is None:
            return credentials
        return grpc.composite_channel_credentials(
            credentials, grpc.access_token_call_credentials(token)
        )

    @staticmethod
    def name_options(node: str | None) -> list[tuple[str, object]]:
        if node is None:
            return []
        return [("grpc.ssl_target_name_override", node_host(node))]


INSECURE = Transport(None)
