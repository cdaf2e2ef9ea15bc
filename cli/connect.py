"""How the CLI reaches a node: mutual TLS with a client certificate of the network's
PKI and the operator's signed token, or plaintext for a node run `--insecure`.

The client's folder (`--tls`, `CASELEDGER_TLS`) holds `client.key`, `client.crt`
and the network CA's `ca.crt`, as `caseledger network pki issue-client NAME
--out FOLDER` writes them (`network up` and the demo make one in
`<pki>/operator`). Without one the CLI speaks plaintext, which a secure node
refuses in the TLS handshake.

The operator's token (`--token`, `CASELEDGER_TOKEN`: the token or a file holding
it) travels as gRPC's bearer credentials, which gRPC sends over TLS only.

The root command sets both once per invocation (`use`); every channel the
invocation opens, to whichever node, goes the same way.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import grpc

TLS_ENV = "CASELEDGER_TLS"
TOKEN_ENV = "CASELEDGER_TOKEN"
_FILES = ("client.key", "client.crt", "ca.crt")
_LONGEST_TOKEN = 8192  # as the node's limit: a file longer than this is no token


class ClientFolderError(Exception):
    """The client folder or the token named cannot be read."""


@dataclass(frozen=True)
class Connection:
    tls: Path | None = None
    token: str | None = None


_in_use = Connection()


def use(tls: Path | None, token: str | None) -> None:
    """How this invocation's channels connect (the root command calls it)."""
    global _in_use  # noqa: PLW0603 - one invocation, one way to connect
    _in_use = Connection(tls, token)


def uses_tls() -> bool:
    """Whether this invocation's channels present a client certificate."""
    return (_in_use.tls or _env_folder()) is not None


def read_token(value: str | None) -> str | None:
    """The token `value` names: the token itself, or a file that holds it."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.count(".") == 2 and "/" not in text:
        return text  # a compact JWS: header.payload.signature
    path = Path(text)
    try:
        content = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise ClientFolderError(
            f"--token {text}: neither a token nor a readable file ({error})"
        ) from None
    if len(content) > _LONGEST_TOKEN:
        raise ClientFolderError(f"--token {text}: the file is too long to hold a token")
    return content


def open_channel(address: str, tls: Path | None = None, token: str | None = None) -> grpc.Channel:
    """A channel to the node at `address`: over mutual TLS when a client folder is
    set (here, by `use`, or by CASELEDGER_TLS), with the operator's token if any."""
    folder = tls or _in_use.tls or _env_folder()
    bearer = token or _in_use.token
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
    if bearer:
        credentials = grpc.composite_channel_credentials(
            credentials, grpc.access_token_call_credentials(bearer)
        )
    return grpc.secure_channel(address, credentials)


def _env_folder() -> Path | None:
    named = os.environ.get(TLS_ENV, "").strip()
    return Path(named) if named else None
