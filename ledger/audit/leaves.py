"""What the node's Merkle log commits to for each event it authored (its leaf data).

Every leaf's data is 32 bytes (docs/audit.md):

- a case event (stable name in `names.CASE_EVENT_NAMES`): the 32 raw bytes of
  its `hash`, the SHA-256 of its canonical form (docs/canonical.md), so the log
  commits to the case's hash chain and a trail fetched from any node can be
  checked against it;
- any other event (catalogue, numbering), which has no canonical hash:
  SHA-256(name ‖ 0x00 ‖ originator id ‖ 0x00 ‖ version ‖ 0x00 ‖ state), with
  the stable name and the id (lower-case hyphenated UUID) in UTF-8, the
  version in decimal, and the state byte for byte as stored and as the log
  stream sends it.
"""

from __future__ import annotations

import hashlib
import json
from uuid import UUID

from caseledger.ledger import names
from caseledger.ledger.audit.merkle import leaf_hash


class UnhashableEvent(ValueError):
    """A case event whose state carries no readable `hash`."""


def leaf_data(topic: str, originator_id: UUID | str, version: int, state: bytes) -> bytes:
    name = names.stable_name(topic)
    if name in names.CASE_EVENT_NAMES:
        try:
            value = json.loads(state)["hash"]
            digest = bytes.fromhex(value)
        except (ValueError, KeyError, TypeError) as error:
            raise UnhashableEvent(f"{name} {originator_id} v{version}: {error}") from None
        if len(digest) != 32:
            raise UnhashableEvent(f"{name} {originator_id} v{version}: hash is not 32 bytes")
        return digest
    return hashlib.sha256(
        b"\x00".join(
            (
                name.encode(),
                str(originator_id).encode(),
                str(version).encode(),
                state,
            )
        )
    ).digest()


def event_leaf(topic: str, originator_id: UUID | str, version: int, state: bytes) -> bytes:
    """The leaf hash of a stored event: SHA-256(0x00 ‖ leaf data)."""
    return leaf_hash(leaf_data(topic, originator_id, version, state))
