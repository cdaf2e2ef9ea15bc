"""Errors raised by the ledger.

One root (`LedgerError`) with typed attributes; the gRPC layer translates
each class to a status through a single table, so nothing here mentions
transport codes.
"""

from __future__ import annotations

from dataclasses import dataclass


class LedgerError(Exception):
    """Root of every error the ledger raises on purpose."""


@dataclass(frozen=True)
class FieldViolation:
    """One bad field: `field` is a dotted path such as `applicant.id_number`."""

    field: str
    reason: str


class InvalidInput(LedgerError):
    """One or more fields of a command are malformed; nothing was written."""

    def __init__(self, *violations: FieldViolation) -> None:
        if not violations:
            raise ValueError("InvalidInput needs at least one violation")
        self.violations = violations
        super().__init__("; ".join(f"{v.field}: {v.reason}" for v in violations))

    @classmethod
    def single(cls, field: str, reason: str) -> InvalidInput:
        return cls(FieldViolation(field, reason))

    def under(self, prefix: str) -> InvalidInput:
        """The same violations with their paths nested under `prefix`."""
        return InvalidInput(
            *(FieldViolation(f"{prefix}.{v.field}", v.reason) for v in self.violations)
        )


class IllegalTransition(LedgerError):
    """The command is not allowed in the case's current status."""

    def __init__(self, command: str, status: str, reason: str) -> None:
        self.command = command
        self.status = status
        self.reason = reason
        super().__init__(f"{command} is not allowed while the case is {status}: {reason}")


class CaseNotFound(LedgerError):
    def __init__(self, case: str) -> None:
        self.case = case
        super().__init__(f"case {case} not found")


class ItemNotFound(LedgerError):
    def __init__(self, implementation_code: str) -> None:
        self.implementation_code = implementation_code
        super().__init__(f"no catalogue item has implementation code {implementation_code}")


class SubjectNotFound(LedgerError):
    """This node holds no key of the data subject (never sealed here, or erased already)."""

    def __init__(self, subject: str) -> None:
        self.subject = subject
        super().__init__(f"no key of data subject {subject} is held at this node")


class RequestReused(LedgerError):
    """A client request id came back with different content."""

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        super().__init__(f"request id {request_id} was already used for a different command")


class CaseExists(LedgerError):
    def __init__(self, case: str) -> None:
        self.case = case
        super().__init__(f"case {case} already exists")


class VersionConflict(LedgerError):
    """The caller's expected version is stale, or a concurrent append won."""

    def __init__(self, case: str, expected: int, actual: int) -> None:
        self.case = case
        self.expected = expected
        self.actual = actual
        super().__init__(f"case {case} is at version {actual}, not {expected}")


class NotOwner(LedgerError):
    """Only the node that owns a case may append to it."""

    def __init__(self, case: str, owner: str, node: str) -> None:
        self.case = case
        self.owner = owner
        self.node = node
        super().__init__(f"case {case} is owned by node {owner}, not {node}")


class UnreadableEvent(LedgerError):
    """A stored or received event the ledger cannot read: refused, never guessed at.

    Its name is unknown (`UnknownEventName`), or its state is not a shape of
    its class this node reads (a later class version, missing or unexpected
    fields, a value of the wrong type).
    """

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(f"event {name}: {reason} (see docs/events.md)")


class UnknownEventName(UnreadableEvent):
    """The name a stored or received event goes by is not in the registry.

    Names resolve only through `caseledger.ledger.names`: nothing is imported
    because of a name, so refusing it is all that happens.
    """

    def __init__(self, name: str, reason: str = "neither a stable name nor a known alias") -> None:
        super().__init__(repr(name), reason)
        self.name = name


class TrailDamaged(LedgerError):
    """What this node holds of a case cannot be read as one whole trail.

    `damage` says how: a version is missing between 1 and the last one held
    (`missing`), an event held does not decode or does not apply to the case
    (`unreadable`), or the node's two stores hold different copies of one
    version (`conflict`, with both hashes). A gap is damage, never a shorter
    trail: the node refuses to serve less than it should. The events after a
    gap may also be ones still on their way from another node (a case that
    changed owners arrives by two paths); the read succeeds once they are in.
    """

    MISSING = "missing"
    UNREADABLE = "unreadable"
    CONFLICT = "conflict"

    def __init__(
        self,
        case: str,
        version: int,
        damage: str,
        reason: str,
        *,
        held_hash: str = "",
        other_hash: str = "",
    ) -> None:
        self.case = case
        self.version = version
        self.damage = damage
        self.reason = reason
        self.held_hash = held_hash
        self.other_hash = other_hash
        super().__init__(
            f"the trail of case {case} held here is damaged at version {version}: {reason}"
        )
