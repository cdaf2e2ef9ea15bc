"""Personal data held sealed per data subject (crypto-shredding).

Names, ID numbers, phone numbers and addresses never reach an event in the
clear: each is encrypted with its data subject's own key (AES-256-GCM) and the
event stores only the sealed form. The per-case hash chain covers the sealed
form, so destroying a subject's key later makes the data unreadable while
every chain still verifies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from caseledger.ledger.errors import InvalidInput

_NONCE_BYTES = 12


@dataclass(frozen=True)
class Sealed:
    """A personal datum encrypted under the key of data subject `subject`."""

    subject: str
    ciphertext: str  # base64 of nonce || AES-GCM ciphertext and tag

    def to_json(self) -> dict[str, str]:
        return {"sealed": self.subject, "ct": self.ciphertext}

    @classmethod
    def from_json(cls, value: Any) -> Sealed:
        if not (
            isinstance(value, dict)
            and isinstance(value.get("sealed"), str)
            and isinstance(value.get("ct"), str)
        ):
            raise ValueError(f"not a sealed value: {value!r}")
        return cls(subject=value["sealed"], ciphertext=value["ct"])


class SubjectKeyStore(Protocol):
    """Where subject keys live; erasing a key is the only way to forget."""

    def key_for(self, subject: str) -> bytes | None: ...

    def create(self, subject: str, key: bytes) -> None: ...

    def erase(self, subject: str) -> bool: ...

    def is_erased(self, subject: str) -> bool: ...

    def pepper(self) -> bytes: ...


class ErasedSubject(Exception):
    """The subject's key was erased: the datum is gone for good."""


class KeyNotHeld(Exception):
    """This node never held the subject's key (it was sealed at another node)."""


class SubjectKeys:
    """Seals and opens personal data with per-subject keys from a store."""

    def __init__(self, store: SubjectKeyStore) -> None:
        self._store = store

    def _key(self, subject: str, *, create: bool) -> bytes:
        key = self._store.key_for(subject)
        if key is None:
            if not create:
                if self._store.is_erased(subject):
                    raise ErasedSubject(subject)
                raise KeyNotHeld(subject)
            key = AESGCM.generate_key(bit_length=256)
            self._store.create(subject, key)
        return key

    def seal(self, subject: str, field: str, plaintext: str) -> Sealed:
        """Encrypt `plaintext`; the field name is bound in as associated data
        so a sealed phone number cannot be passed off as an ID number."""
        return self.seal_fields(subject, {field: plaintext})[field]

    def seal_fields(self, subject: str, fields: Mapping[str, str]) -> dict[str, Sealed]:
        """`seal` of each field's text, the subject's key read (or made) once."""
        for field, plaintext in fields.items():
            if not plaintext:
                raise InvalidInput.single(field, "must not be empty")
        cipher = AESGCM(self._key(subject, create=True))
        sealed = {}
        for field, plaintext in fields.items():
            nonce = os.urandom(_NONCE_BYTES)
            body = cipher.encrypt(nonce, plaintext.encode("utf-8"), field.encode("ascii"))
            sealed[field] = Sealed(subject, base64.b64encode(nonce + body).decode("ascii"))
        return sealed

    def open(self, sealed: Sealed, field: str) -> str:
        raw = base64.b64decode(sealed.ciphertext)
        key = self._key(sealed.subject, create=False)
        try:
            plain = AESGCM(key).decrypt(
                raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], field.encode("ascii")
            )
        except InvalidTag as error:
            # Sealed under a key that was erased since (the subject came back
            # and has a new one), or tampered with: either way it is gone.
            raise ErasedSubject(sealed.subject) from error
        return plain.decode("utf-8")

    def erase(self, subject: str) -> bool:
        return self._store.erase(subject)

    def held(self, subject: str) -> bytes | None:
        """The subject's key, to hand to a node taking over one of its cases; None
        when this node never held it or erased it."""
        return self._store.key_for(subject)

    def adopt(self, subject: str, key: bytes) -> bool:
        """Keep the key another node handed over; a subject erased here stays erased
        and a key held already is kept. True when the key was taken."""
        if self._store.key_for(subject) is not None or self._store.is_erased(subject):
            return False
        self._store.create(subject, key)
        return True

    def subject_of(self, identity_number: str) -> str:
        """The data subject id of a person or organisation: a keyed hash of the
        identity number, so ids are stable per node yet not guessable."""
        mac = hmac.new(self._store.pepper(), identity_number.encode("utf-8"), hashlib.sha256)
        return mac.hexdigest()[:32]

    def index_key(self) -> bytes:
        """The key of the node's blind index of applicants (`case_index`): derived
        from the node's secret for its own purpose, so a token of the index and a
        subject id of the same number never match."""
        derive = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"caseledger applicant index"
        )
        return derive.derive(self._store.pepper())


def mask(text: str, keep_head: int = 1, keep_tail: int = 1) -> str:
    """Mask a personal datum for views: `张三丰` -> `张*丰`."""
    if len(text) <= 1:
        return "*" * len(text)
    if len(text) <= keep_head + keep_tail:
        return text[:keep_head] + "*" * (len(text) - keep_head)
    middle = len(text) - keep_head - keep_tail
    return text[:keep_head] + "*" * middle + text[len(text) - keep_tail :]
