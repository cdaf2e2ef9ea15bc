"""How the CLI reaches a node: mutual TLS with a client certificate of the network's
PKI, or plaintext for a node run `--insecure`.

The client's folder (`CASELEDGER_TLS`, or `--tls`) holds `client.key`,
`client.crt` and the network CA's `ca.crt`, as `caseledger network pki
issue-client NAME --out FOLDER` writes them (`network up` and the demo make one in
`<pki>/operator`). Without one the CLI speaks plaintext, which a secure node
refuses in the TLS handshake: the error then says where the folder is expected.
"""

from __future__ import annotations

import os
from pathlib import Path

import grpc

TLS_ENV = "CASELEDGER_TLS"
_FILES = ("client.key", "client.crt", "ca.crt")


class ClientFolderError(Exception):
    """The client folder named cannot be read."""


def tls_folder(explicit: Path | None = None) -> Path | None:
    """The client folder in use: `explicit`, else CASELEDGER_TLS, else none."""
    if explicit is not None:
        return explicit
    named = os.environ.get(TLS_ENV, "").strip()
    return Path(named) if named else None


def open_channel(address: str, tls: Path | None = None) -> grpc.Channel:
    """A channel to the node at `address`, over mutual TLS when a client folder is set."""
    folder = tls_folder(tls)
    if folder is None:
        return grpc.insecure_channel(address)
    try:
        key, cert, ca = ((folder / name).read_bytes() for name in _FILES)
    except OSError as error:
        raise ClientFolderError(
            f"{error.filename}: {error.strerror} (the client folder {folder} needs "
            f"{', '.join(_FILES)}: caseledger network pki issue-client NAME --out {folder})"
        ) from error
    credentials = grpc.ssl_channel_credentials(
        root_certificates=ca, private_key=key, certificate_chain=cert
    )
    return grpc.secure_channel(address, credentials)
