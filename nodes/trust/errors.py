"""The root of the trust package's errors."""

from __future__ import annotations


class TrustError(Exception):
    """A PKI operation that cannot be done: a missing or foreign file, a bad argument."""
