"""A subject key sent to another node, readable by that node alone.

When a case is handed over, the node that takes it needs its applicant's key to
open the applicant's data. The key travels wrapped to the receiving node's
sealing key (X25519, bound in its certificate): an ephemeral X25519 key agreement,
HKDF-SHA256 over both public keys, and ChaCha20-Poly1305 with the case and the
subject as associated data, so a wrapped key cannot be replayed for another
subject or case. Wire form: ephemeral public key (32) ‖ nonce (12) ‖ ciphertext.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

_INFO = b"caseledger subject key v1"
_PUBLIC = 32
_NONCE = 12


class UnwrapFailed(Exception):
    """The wrapped key is not for this node, this case or this subject, or was changed."""


def _raw(key: X25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _cipher(shared: bytes, ephemeral: bytes, recipient: bytes) -> ChaCha20Poly1305:
    key = HKDF(algorithm=SHA256(), length=32, salt=ephemeral + recipient, info=_INFO).derive(shared)
    return ChaCha20Poly1305(key)


def _bound(case: str, subject: str) -> bytes:
    return f"{case}\n{subject}".encode()


def wrap(key: bytes, *, case: str, subject: str, recipient: X25519PublicKey) -> bytes:
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = _raw(ephemeral.public_key())
    cipher = _cipher(ephemeral.exchange(recipient), ephemeral_public, _raw(recipient))
    nonce = os.urandom(_NONCE)
    return ephemeral_public + nonce + cipher.encrypt(nonce, key, _bound(case, subject))


def unwrap(wrapped: bytes, *, case: str, subject: str, private: X25519PrivateKey) -> bytes:
    if len(wrapped) <= _PUBLIC + _NONCE:
        raise UnwrapFailed("too short to be a wrapped key")
    ephemeral_public = wrapped[:_PUBLIC]
    nonce, body = wrapped[_PUBLIC : _PUBLIC + _NONCE], wrapped[_PUBLIC + _NONCE :]
    try:
        shared = private.exchange(X25519PublicKey.from_public_bytes(ephemeral_public))
        cipher = _cipher(shared, ephemeral_public, _raw(private.public_key()))
        return cipher.decrypt(nonce, body, _bound(case, subject))
    except (InvalidTag, ValueError) as error:
        raise UnwrapFailed(str(error) or "the key does not open") from error
