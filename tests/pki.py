"""The tests' network PKI: one CA per test process, made on first use, so every
node a test starts runs over mutual TLS as a deployed one does, and every test
client presents a client certificate.

Tests that revoke or expire certificates make a PKI of their own (`TestPki`), so
the shared one never changes under other tests.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from dataclasses import replace
from pathlib import Path

import grpc

from caseledger.nodes.config import NodeConfig
from caseledger.nodes.identity import SYSTEM, init_provider, issue_token
from caseledger.nodes.identity.provider import ProviderFolder
from caseledger.nodes.trust.authority import Authority, load_ca
from caseledger.nodes.trust.certificates import issue
from caseledger.nodes.trust.clients import issue_client
from caseledger.nodes.trust.founding import init_ca
from caseledger.nodes.trust.layout import PkiFolder, node_cert_file
from caseledger.nodes.trust.transport import KeyPair, Transport

CLIENT = "test-client"
AUDIENCE = "caseledger"
PROVINCE = "370000000000"


class TestPki:
    __test__ = False  # not a test class, whatever pytest thinks of its name

    def __init__(self, root: Path, network: str = "test-network") -> None:
        self.folder = PkiFolder(root)
        self.authority: Authority = (
            load_ca(self.folder) if self.folder.ca_cert.exists() else init_ca(self.folder, network)
        )
        self._lock = threading.Lock()
        self.identity = ProviderFolder(root / "identity")
        if not self.identity.jwks.exists():
            init_provider(self.identity.root)
        # A machine account of the province: it acts for the operator each request
        # names, as a window system does (docs/identity.md).
        self.token = self.operator_token("test-system", [SYSTEM])

    @property
    def crl(self) -> Path:
        return self.folder.crl

    def operator_token(
        self,
        operator: str,
        roles: list[str],
        division: str = PROVINCE,
        audience: str = AUDIENCE,
    ) -> str:
        return issue_token(
            self.identity.root,
            operator_id=operator,
            name=operator,
            roles=roles,
            division=division,
            audience=audience,
        )

    def secure(self, data_dir: Path, code: str) -> None:
        """Issue node `code` its certificate in `data_dir`, unless it has one."""
        with self._lock:
            if not node_cert_file(data_dir, code).exists():
                issue(self.authority, code, data=data_dir)

    def secured(self, config: NodeConfig) -> NodeConfig:
        """`config` with its certificate issued and this PKI's revocation list."""
        self.secure(config.data_dir, config.code)
        return replace(
            config,
            crl_file=self.crl,
            identity_jwks=self.identity.jwks,
            identity_audience=AUDIENCE,
        )

    def client_folder(self, name: str = CLIENT) -> Path:
        folder = self.folder.root / "clients" / name
        with self._lock:
            if not (folder / "client.crt").exists():
                issue_client(self.authority, name, folder)
        return folder

    def client(self, name: str = CLIENT) -> Transport:
        folder = self.client_folder(name)
        return Transport(
            KeyPair.read(folder / "client.key", folder / "client.crt", folder / "ca.crt", "")
        )

    def client_channel(self, address: str, token: str | None = None) -> grpc.Channel:
        """A client's channel, its calls carrying `token` (the machine account's by default)."""
        return self.client().channel(address, token=token or self.token)

    def node(self, data_dir: Path, code: str) -> Transport:
        """What node `code` presents (for a test that stands in for a node)."""
        from caseledger.nodes.trust.transport import node_key_pair

        self.secure(data_dir, code)
        return Transport(node_key_pair(data_dir, code))


_shared: TestPki | None = None
_shared_lock = threading.Lock()


def shared_pki() -> TestPki:
    global _shared  # noqa: PLW0603 - one CA per test process, made on first use
    with _shared_lock:
        if _shared is None:
            root = Path(tempfile.mkdtemp(prefix="caseledger-test-pki-"))
            atexit.register(shutil.rmtree, root, True)
            _shared = TestPki(root)
        return _shared


def secured(config: NodeConfig) -> NodeConfig:
    """`config` on the shared test PKI."""
    return shared_pki().secured(config)


def client_channel(address: str) -> grpc.Channel:
    """A test client's channel to a node of the shared PKI, acting through the
    province's machine account for the operator each request names."""
    return shared_pki().client_channel(address)


def node_channel(address: str, code: str) -> grpc.Channel:
    """A channel that presents node `code`'s certificate: a test standing in for
    another node of the network (delivering a trail, offering a case)."""
    pki = shared_pki()
    return pki.node(pki.folder.root / "nodes" / code, code).channel(address)
