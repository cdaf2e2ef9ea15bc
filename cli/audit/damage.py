"""A node's word that what it holds of a case is damaged, as the command line reads it.

A node answers DATA_LOSS when its copy of a case cannot be served whole: a
version is missing, an event cannot be read, its two stores hold different
copies of a version (google.rpc.ErrorInfo reasons `VERSION_MISSING`,
`EVENT_UNREADABLE`, `COPIES_DIFFER`, with the case and version in the
metadata), or a trail it was handed does not verify (`TRAIL_BROKEN`). The
command line reads the structure, never the message text, to say which
version.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

_DOMAIN = "caseledger.v1"


@dataclass(frozen=True)
class Damage:
    """Where and how a node's copy of a case is damaged."""

    case: str
    version: int
    reason: str
    """The ErrorInfo reason, e.g. `VERSION_MISSING`."""
    detail: str
    held_hash: str = ""
    other_hash: str = ""

    @property
    def kind(self) -> str:
        """`missing`, `unreadable`, `conflict`, or `broken`."""
        return _KINDS.get(self.reason, "damaged")

    def describe(self) -> str:
        """One line naming the version and what is wrong with it."""
        if self.reason == "VERSION_MISSING":
            return f"version {self.version} is missing from the node's copy of case {self.case}"
        if self.reason == "EVENT_UNREADABLE":
            return f"version {self.version} of case {self.case} cannot be read: {self.detail}"
        if self.reason == "COPIES_DIFFER":
            return (
                f"the node holds two different copies of version {self.version} of case "
                f"{self.case} (hashes {self.held_hash} and {self.other_hash})"
            )
        if self.version:
            return f"event {self.version} of case {self.case}: {self.detail}"
        return self.detail


_KINDS = {
    "VERSION_MISSING": "missing",
    "EVENT_UNREADABLE": "unreadable",
    "UNREADABLE_EVENT": "unreadable",
    "COPIES_DIFFER": "conflict",
    "TRAIL_BROKEN": "broken",
}


def damage_of(error: grpc.RpcError) -> Damage | None:
    """The damage a DATA_LOSS answer reports; None for any other failure."""
    if not isinstance(error, grpc.Call) or error.code() is not grpc.StatusCode.DATA_LOSS:
        return None
    text = error.details() or "the node reports its copy damaged"
    try:
        status = rpc_status.from_call(error)
    except ValueError:
        status = None
    info = error_details_pb2.ErrorInfo()
    resource = error_details_pb2.ResourceInfo()
    for detail in getattr(status, "details", ()):
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            detail.Unpack(info)
        elif detail.Is(error_details_pb2.ResourceInfo.DESCRIPTOR):
            detail.Unpack(resource)
    if info.domain != _DOMAIN:
        return Damage(case="", version=0, reason="", detail=text)
    metadata = dict(info.metadata)
    try:
        version = int(metadata.get("version", "0"))
    except ValueError:
        version = 0
    return Damage(
        case=metadata.get("case", ""),
        version=version,
        reason=info.reason,
        detail=resource.description or text,
        held_hash=metadata.get("held_hash", ""),
        other_hash=metadata.get("other_hash", ""),
    )
