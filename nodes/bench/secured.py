"""A benchmark node's security, made for the run: a throwaway network PKI, the
node's certificate, a client certificate and a machine account's token, so P1
measures appends as a deployed node takes them (mutual TLS, a token checked on
every call), or, with `--insecure`, without either for comparison."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import grpc

from caseledger.nodes.identity import SYSTEM, init_provider, issue_token
from caseledger.nodes.identity.provider import ProviderFolder
from caseledger.nodes.trust.certificates import issue
from caseledger.nodes.trust.clients import issue_client
from caseledger.nodes.trust.founding import init_ca
from caseledger.nodes.trust.layout import PkiFolder
from caseledger.nodes.trust.transport import KeyPair, Transport

_AUDIENCE = "caseledger-bench"


@dataclass(frozen=True)
class BenchSecurity:
    serve_args: list[str]
    credentials: grpc.ChannelCredentials | None


def prepare(folder: Path, code: str, data: Path, *, insecure: bool) -> BenchSecurity:
    """Make the run's PKI and token in `folder`, the node's certificate in `data`."""
    if insecure:
        return BenchSecurity(["--insecure"], None)
    pki = PkiFolder(folder / "pki")
    authority = init_ca(pki, "bench")
    issue(authority, code, data=data)
    client = folder / "client"
    issue_client(authority, "bench", client)
    provider = ProviderFolder(folder / "identity")
    init_provider(provider.root)
    token = issue_token(
        provider.root,
        operator_id="bench",
        name="bench",
        roles=[SYSTEM],
        division=code,
        audience=_AUDIENCE,
    )
    pair = KeyPair.read(client / "client.key", client / "client.crt", client / "ca.crt", "")
    credentials = Transport(pair).channel_credentials(token)
    args = [
        "--crl",
        str(pki.crl),
        "--identity-jwks",
        str(provider.jwks),
        "--audience",
        _AUDIENCE,
    ]
    return BenchSecurity(args, credentials)
