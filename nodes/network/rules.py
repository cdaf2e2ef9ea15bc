"""Rules between the nodes of a network file: what no single node shows wrong.

Each rule reads the nodes as far as they could be parsed (`NodeDraft`, a
field that failed is None) and returns its findings, so a file with a bad
address still has its codes and its tree checked, and every problem is
reported at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from caseledger.ledger.codes.division import DivisionCode
from caseledger.nodes.network.model import Address, FeedKind, NodeSpec, StoreSpec

Location = tuple[str | int, ...]
"""Where a value sits in the file: `("nodes", 2, "address")`."""

_WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", "*"})


@dataclass(frozen=True)
class Finding:
    where: Location
    reason: str


@dataclass
class NodeDraft:
    """One node as read; `store_at` and `feed_at` point at defaults when inherited."""

    index: int
    label: str
    code: DivisionCode | None
    name: str | None
    address: Address | None
    store: StoreSpec | None
    store_at: Location
    feed: FeedKind | None
    feed_at: Location
    data_dir: Path | None
    duplicate: bool = False
    parent: DivisionCode | None = None
    """The parent the file names (`parent:`), confirming a nesting that skips a level."""

    @property
    def at(self) -> Location:
        return ("nodes", self.index)

    def spec(self) -> NodeSpec | None:
        if (
            self.code is None
            or self.name is None
            or self.address is None
            or self.store is None
            or self.feed is None
            or self.data_dir is None
        ):
            return None
        return NodeSpec(
            self.code.code,
            self.name,
            self.code.level,
            self.address,
            self.store,
            self.feed,
            self.data_dir,
        )


def duplicate_codes(drafts: list[NodeDraft]) -> list[Finding]:
    """A code listed twice; the later copies are marked so the tree ignores them."""
    findings: list[Finding] = []
    first: dict[DivisionCode, NodeDraft] = {}
    for draft in drafts:
        if draft.code is None:
            continue
        earlier = first.setdefault(draft.code, draft)
        if earlier is not draft:
            draft.duplicate = True
            reason = f"{draft.code} is already listed as {earlier.label}"
            findings.append(Finding((*draft.at, "code"), reason))
    return findings


def _clash(a: Address, b: Address) -> str | None:
    """Why two nodes cannot listen on both addresses of one machine, or None."""
    if a.port != b.port:
        return None
    if a.host.lower() == b.host.lower():
        return f"{a} is already the address of"
    wildcard = next((host for host in (a.host, b.host) if host in _WILDCARD_HOSTS), None)
    if wildcard is not None:
        return f"port {a.port} clashes ({wildcard} takes it on every interface) with"

    def loopback(host: str) -> bool:
        return host.lower() == "localhost" or host == "::1" or host.startswith("127.")

    if loopback(a.host) and loopback(b.host):
        return f"port {a.port} clashes (both hosts are this machine's loopback) with"
    return None


def address_clashes(drafts: list[NodeDraft]) -> list[Finding]:
    findings: list[Finding] = []
    seen: list[tuple[Address, NodeDraft]] = []
    for draft in drafts:
        if draft.address is None:
            continue
        for address, other in seen:
            clash = _clash(draft.address, address)
            if clash is not None:
                findings.append(Finding((*draft.at, "address"), f"{clash} {other.label}"))
                break
        seen.append((draft.address, draft))
    return findings


def extra_roots(drafts: list[NodeDraft]) -> list[Finding]:
    """Every node but one must have a listed ancestor."""
    listed = {d.code: d for d in drafts if d.code is not None and not d.duplicate}
    roots = [
        (code, draft)
        for code, draft in listed.items()
        if not any(ancestor in listed for ancestor in code.ancestors())
    ]
    if len(roots) < 2:
        return []
    # The highest root is taken as the one meant; ties go to the first listed.
    top, root = min(roots, key=lambda pair: pair[0].level.prefix_length)
    findings: list[Finding] = []
    for code, draft in roots:
        if draft is root:
            continue
        if code.level is top.level:
            reason = (
                f"a second root beside {root.label}: a network has exactly one root; "
                "list a common ancestor or split the network"
            )
        else:
            reason = (
                f"no listed ancestor: {code} lies outside prefix {top.prefix} "
                f"of the root {root.label}"
            )
        findings.append(Finding((*draft.at, "code"), reason))
    return findings


def shared_keyspaces(drafts: list[NodeDraft]) -> list[Finding]:
    """Two Cassandra nodes on one cluster would mix their events in one keyspace."""
    findings: list[Finding] = []
    seen: list[tuple[StoreSpec, NodeDraft]] = []
    for draft in drafts:
        store = draft.store
        if store is None or store.kind != "cassandra":
            continue
        for other_store, other in seen:
            on_one_cluster = set(store.contact_points) & set(other_store.contact_points)
            if store.keyspace == other_store.keyspace and on_one_cluster:
                reason = (
                    f"{draft.label} shares keyspace {store.keyspace} with {other.label} "
                    "on one cluster; each node needs its own"
                )
                findings.append(Finding((*draft.store_at, "keyspace"), reason))
                break
        seen.append((store, draft))
    return findings


def kafka_feeds(drafts: list[NodeDraft]) -> list[Finding]:
    """Where a kafka feed is asked for: reported when the file has no kafka section."""
    places = dict.fromkeys(d.feed_at for d in drafts if d.feed == "kafka")
    reason = "kafka needs the top-level kafka section (bootstrap, topic_prefix)"
    return [Finding(where, reason) for where in places]


def skipped_levels(drafts: list[NodeDraft]) -> list[Finding]:
    """A node hangs under its nearest listed ancestor. When that is not the division
    directly above it, a typo in a code is the likelier story (370302001000 for
    370102001000 hangs a township under the province), so the file must say
    so with `parent:`; a `parent:` that is not the nearest listed ancestor is
    refused too, since nesting is read from the codes, never chosen."""
    listed = {d.code: d for d in drafts if d.code is not None and not d.duplicate}
    findings: list[Finding] = []
    for code, draft in listed.items():
        ancestors = code.ancestors()
        nearest = next((a for a in ancestors if a in listed), None)
        if draft.parent is not None:
            if draft.parent != nearest:
                findings.append(Finding((*draft.at, "parent"), _wrong_parent(draft, nearest)))
            continue
        if nearest is None or nearest == ancestors[0]:
            continue
        above = listed[nearest]
        reason = (
            f"{code}'s nearest listed node is {above.label}, a {nearest.level.name.lower()}, "
            f"not the {ancestors[0].level.name.lower()} directly above it ({ancestors[0]}): "
            f'check the code, or, if it is meant, write parent: "{nearest}"'
        )
        findings.append(Finding((*draft.at, "code"), reason))
    return findings


def _wrong_parent(draft: NodeDraft, nearest: DivisionCode | None) -> str:
    if nearest is None:
        return f"{draft.parent} is not listed above {draft.code}: this node has no listed ancestor"
    return (
        f"{draft.parent} is not {draft.code}'s nearest listed ancestor; that is {nearest} "
        "(a node hangs under its nearest listed ancestor)"
    )
