"""What a node's server trusts: mutual TLS and the gate over it (callers by their
certificates, operators by their tokens), or, for a local experiment only,
plaintext with no caller known."""

from __future__ import annotations

import structlog
from cryptography import x509

from caseledger.nodes.config import NodeConfig
from caseledger.nodes.identity import IdentityError, TokenVerifier, load_role_table
from caseledger.nodes.metrics import Metrics
from caseledger.nodes.service.gate import Gate
from caseledger.nodes.service.operators import Operators
from caseledger.nodes.trust.callers import Callers
from caseledger.nodes.trust.errors import TrustError
from caseledger.nodes.trust.revocation import GATE_RECHECK, RevocationList
from caseledger.nodes.trust.transport import INSECURE, Transport, node_key_pair

_log = structlog.get_logger("caseledger.nodes.server")


def security_of(config: NodeConfig, metrics: Metrics) -> tuple[Transport, Gate | None]:
    """Mutual TLS and the gate, or (`insecure`) plaintext with no caller known.
    TrustError when the node's certificate, the revocation list or the identity
    provider's keys cannot be read: a secure node does not start half-secured."""
    if config.insecure:
        _log.warning(
            "INSECURE: plaintext gRPC, no caller is authenticated and no rule of the "
            "network's shape is enforced; for a local experiment only",
            node=config.code,
        )
        return INSECURE, None
    pair = node_key_pair(config.data_dir, config.code)
    ca = x509.load_pem_x509_certificate(pair.ca)
    revocations = RevocationList(config.revocation_list, ca, recheck=GATE_RECHECK)
    revocations.serials()  # fail at start, not at the first call, if it cannot be read
    return Transport(pair), Gate(Callers(revocations), operators_of(config), metrics)


def operators_of(config: NodeConfig) -> Operators:
    if config.identity_jwks is None:
        raise TrustError(
            f"node {config.code}: no identity provider keys (identity_jwks): operators' "
            "tokens cannot be checked; see docs/identity.md"
        )
    try:
        verifier = TokenVerifier.from_jwks_file(
            config.identity_jwks,
            audience=config.identity_audience,
            issuers=config.identity_issuers,
        )
        table = load_role_table(config.role_file)
    except IdentityError as error:
        raise TrustError(f"node {config.code}: {error}") from error
    return Operators(verifier, table, config.code)
