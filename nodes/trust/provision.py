"""A network's PKI made ready for a run: what `network up` and the demo do before
they start any node, so a network runs over mutual TLS from its first call.

It creates what is missing and keeps what is there: the CA in the network's PKI
folder (named after the network), a certificate for each node whose data folder
holds none, one client certificate (`operator`) for the operator's CLI in
`<pki>/operator`, a development identity provider in `<pki>/identity`, and a
token for the operator's CLI (`<pki>/operator/token`: a machine account of the
root's division, acting for the operator each command names). An operator who
runs their own CA imports it first (`caseledger network pki import`); nothing
here replaces it.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from caseledger.nodes.identity import SYSTEM, init_provider, issue_token
from caseledger.nodes.network.model import Network
from caseledger.nodes.trust.authority import Authority, load_ca
from caseledger.nodes.trust.certificates import issue
from caseledger.nodes.trust.clients import CLIENT_CERT, issue_client
from caseledger.nodes.trust.founding import init_ca
from caseledger.nodes.trust.layout import PkiFolder, node_cert_file, write_atomically

OPERATOR_CLIENT = "operator"
TOKEN = "token"
OPERATOR_TOKEN_LIFETIME = datetime.timedelta(hours=24)


def operator_folder(pki: Path) -> Path:
    """Where the operator's client certificate for the CLI is (its `--tls` folder)."""
    return pki / OPERATOR_CLIENT


def provision(network: Network) -> list[str]:
    """Make what the network's PKI lacks; a line for each thing made."""
    folder = PkiFolder(network.pki)
    made: list[str] = []
    authority: Authority
    if folder.ca_cert.exists():
        authority = load_ca(folder)
    else:
        authority = init_ca(folder, network.name)
        made.append(f"made the network CA in {folder.root}")
    for node in network.nodes:
        if not node_cert_file(node.data_dir, node.code).exists():
            issue(authority, node.code, data=node.data_dir)
            made.append(f"issued node {node.code} its certificate in {node.data_dir}")
    client = operator_folder(network.pki)
    if not (client / CLIENT_CERT).exists():
        issue_client(authority, OPERATOR_CLIENT, client)
        made.append(f"issued the operator's client certificate in {client}")
    identity = network.identity_jwks.parent
    if not network.identity_jwks.exists():
        init_provider(identity)
        made.append(f"made a development identity provider in {identity}")
    # A token lives hours, not a run's lifetime: a fresh one every start.
    token = issue_token(
        identity,
        operator_id=OPERATOR_CLIENT,
        name=f"{network.name} operator",
        roles=[SYSTEM],
        division=network.root.code,
        audience=network.audience,
        lifetime=OPERATOR_TOKEN_LIFETIME,
    )
    write_atomically(client / TOKEN, token.encode("ascii"), 0o600)
    made.append(f"issued the operator's token in {client / TOKEN}")
    return made
