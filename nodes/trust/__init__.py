"""The network PKI: the CA, node certificates and the revocation list (see docs/trust.md)."""

from caseledger.nodes.trust.authority import Authority, load_ca
from caseledger.nodes.trust.certificates import (
    IDENTITY_URI_PREFIX,
    NODE_URI_PREFIX,
    IssuedCertificate,
    division_code_of,
    identity_key_of,
    issue,
    renew,
    verify_issued_by,
)
from caseledger.nodes.trust.errors import TrustError
from caseledger.nodes.trust.founding import import_ca, init_ca
from caseledger.nodes.trust.layout import PkiFolder
from caseledger.nodes.trust.registry import Entry, State, issued, latest_of
from caseledger.nodes.trust.revocation import RevocationList, revoke

__all__ = [
    "IDENTITY_URI_PREFIX",
    "NODE_URI_PREFIX",
    "Authority",
    "Entry",
    "IssuedCertificate",
    "PkiFolder",
    "RevocationList",
    "State",
    "TrustError",
    "division_code_of",
    "identity_key_of",
    "import_ca",
    "init_ca",
    "issue",
    "issued",
    "latest_of",
    "load_ca",
    "renew",
    "revoke",
    "verify_issued_by",
]
