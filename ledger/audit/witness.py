"""A node as the witness of its descendants' logs (docs/audit.md, "Witnesses").

For each descendant it replicates, the node holds the leaf of every event of
the descendant's own log it received, at the position it was sent with
(`hold`), and builds the Merkle tree over them from position 1. A checkpoint
of the descendant (`check`) is cosigned only when:

1. its note is signed by the descendant's identity key (the caller resolves
   the key, from the descendant's certificate), or by the key the rotations
   it carries lead to from that one, each of them the event held at its
   position (`ledger.audit.rotation`), and names the descendant;
2. its root equals the root of the tree over the events held from that node
   at its size: what the descendant says it recorded is what it sent;
3. it extends the last checkpoint witnessed: a consistency proof from that
   one's size to this one's, computed over the held tree, verifies against
   both roots.

A checkpoint beyond the positions held is kept pending and checked as soon
as they arrive. A witness turned on after the node had replicated a source
holds nothing from position 1: with a `seeder` (`ledger.audit.seeding`) it
takes the source's events the node already holds as the leaves from 1, but
only once they and the leaves received since reproduce the root of a
checkpoint the source signed. One that fails 2 or 3 is a fork: the descendant has signed
two histories (or sent one and signed another). It is kept with the last
witnessed checkpoint as evidence, and never cosigned; nor is any later one
that does not match the events held.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import enum
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from caseledger.ledger.audit import merkle
from caseledger.ledger.audit.checkpoint import BadNote, Checkpoint, open_note, origin_of
from caseledger.ledger.audit.cosignature import cosign
from caseledger.ledger.audit.identity import Identity
from caseledger.ledger.audit.leaves import event_leaf
from caseledger.ledger.audit.rotation import (
    BadRotation,
    Rotation,
    SigningKey,
    key_in_force,
    rotation_id,
    rotation_lines,
)
from caseledger.ledger.audit.witness_store import Fork, Witnessed, WitnessStore

PIN = "witnessed"
"""The first word of the extension line that pins a witnessed checkpoint."""


def pin_line(record: Witnessed) -> str:
    """`witnessed <origin> <size> <base64 root>`: one descendant's latest
    witnessed checkpoint, as an extension line of the witness's own checkpoint."""
    root = base64.b64encode(record.root).decode()
    return f"{PIN} {origin_of(record.node)} {record.size} {root}"


class Verdict(enum.Enum):
    WITNESSED = "witnessed"
    KNOWN = "known"  # no newer than the one witnessed, and consistent with it
    PENDING = "pending"  # covers events not yet received
    FORKED = "forked"
    REFUSED = "refused"  # not the descendant's signature, or not a checkpoint


@dataclass(frozen=True)
class Outcome:
    node: str
    verdict: Verdict
    size: int = 0
    detail: str = ""
    fork: Fork | None = None


class Witness:
    def __init__(
        self,
        store: WitnessStore,
        identity: Identity,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.identity = identity
        self._clock = clock
        # The leaves of a source's first events from what the node holds.
        # A guess at the leaves of a source's first events (from position 1),
        # from what the node holds.
        self.seeder: Callable[[str], Sequence[bytes]] | None = None
        self._seeds: dict[str, Sequence[bytes]] = {}
        self._seeded: set[str] = set()

    def rotated(self, identity: Identity) -> None:
        """Cosign with the node's new identity key from now on, and cosign
        again with it every latest witnessed checkpoint kept, so that the key
        the node now gives for its cosignatures verifies each of them."""
        self.identity = identity
        for record in self.store.all_witnessed():
            note = cosign(record.note, identity.name, identity.key, int(self._clock()))
            self.store.witness(dataclasses.replace(record, note=note))

    def _now(self) -> str:
        moment = datetime.datetime.fromtimestamp(self._clock(), datetime.UTC)
        return moment.isoformat(timespec="seconds")

    def hold(self, node: str, leaves: Sequence[tuple[int, bytes]]) -> list[Outcome]:
        """Record the leaves of events received from `node` (position, leaf
        hash); then check its pending checkpoint, if they made it checkable."""
        outcomes = []
        for conflict in self.store.hold(node, leaves):
            detail = (
                f"position {conflict.position} of {node}'s log was received twice with "
                f"different events (leaf {conflict.held.hex()} held, "
                f"{conflict.received.hex()} received)"
            )
            outcomes.append(self._forked(node, "", 0, detail))
        pending = self.store.pending(node)
        if pending is not None:
            note, public = pending
            outcome = self.check(node, note, public)
            if outcome.verdict is not Verdict.PENDING:
                self.store.drop_pending(node, note)
                outcomes.append(outcome)
        return outcomes

    def check(self, node: str, note: str, public: bytes) -> Outcome:
        """Check a checkpoint note of `node`, signed with the key `public`."""
        name = origin_of(node)
        try:
            claimed = Checkpoint.parse(note.rpartition("\n\n")[0] + "\n")
            rotations = rotation_lines(claimed.extensions)
            signer = key_in_force(name, public, rotations, claimed.size)
            checkpoint = Checkpoint.parse(open_note(note, name, signer))
        except (BadNote, BadRotation) as error:
            return Outcome(node, Verdict.REFUSED, detail=str(error))
        if checkpoint.origin != name:
            return Outcome(
                node, Verdict.REFUSED, detail=f"the checkpoint names {checkpoint.origin}"
            )
        held = self.store.held_size(node)
        if checkpoint.size > held and self._seed(node, checkpoint):
            held = self.store.held_size(node)
        if checkpoint.size > held:
            waiting = self.store.pending(node)
            if waiting is None or _size_of(waiting[0]) <= checkpoint.size:
                self.store.keep_pending(node, note, public)
            return Outcome(
                node,
                Verdict.PENDING,
                checkpoint.size,
                f"{held} of its {checkpoint.size} events received so far",
            )
        for position, state in rotations:
            held_leaf = self.store.held_leaf(node, position)
            leaf = event_leaf(
                SigningKey.Rotated.NAME,
                rotation_id(Rotation.from_state(state).new_key),
                1,
                state,
            )
            if held_leaf != leaf:
                detail = f"the key rotation at position {position} is not the event received there"
                return Outcome(node, Verdict.REFUSED, checkpoint.size, detail)
        return self._judge(node, checkpoint, note)

    def _seed(self, node: str, checkpoint: Checkpoint) -> bool:
        """Take the seeder's guess as the first leaves of `node` if, with the
        leaves received since, it reproduces `checkpoint`'s root; once told
        either way, never tried again for `node`."""
        if self.seeder is None or node in self._seeded or self.store.held_size(node):
            return False
        guess = self._seeds.get(node)
        if guess is None:
            guess = self.seeder(node)
            if not guess:
                return False  # nothing held of it (yet)
            self._seeds[node] = guess
        size = checkpoint.size
        if len(guess) > size:
            return False  # a later checkpoint, covering all of it, will tell
        seed = dict(enumerate(guess, start=1))
        received = self.store.held_leaves(node)
        if any(seed.get(p, leaf) != leaf for p, leaf in received.items()):
            self._done_seeding(node)
            return False
        leaves = {**seed, **received}
        present = [leaves[p] for p in range(1, size + 1) if p in leaves]
        if len(present) < size:
            return False  # more to receive before it can be told
        self._done_seeding(node)
        if merkle.root(merkle.LeafList(present), size) != checkpoint.root:
            return False
        self.store.hold(node, sorted(seed.items()))
        return True

    def _done_seeding(self, node: str) -> None:
        self._seeded.add(node)
        self._seeds.pop(node, None)

    def _judge(self, node: str, checkpoint: Checkpoint, note: str) -> Outcome:
        size = checkpoint.size
        if self.store.held_root(node, size) != checkpoint.root:
            detail = (
                f"the checkpoint of size {size} does not match the {size} events of "
                f"{node}'s log this node received"
            )
            return self._forked(node, note, size, detail)
        accepted = self.store.witnessed(node)
        if accepted is not None:
            old, new = sorted((accepted.size, size))
            proof = self.store.held_consistency(node, old, new)
            roots = (accepted.root, checkpoint.root)
            if accepted.size > size:
                roots = (checkpoint.root, accepted.root)
            if not merkle.verify_consistency(old, new, *roots, proof):
                detail = (
                    f"the checkpoint of size {size} is not consistent with the witnessed "
                    f"checkpoint of size {accepted.size}"
                )
                return self._forked(node, note, size, detail)
            if size <= accepted.size:
                return Outcome(node, Verdict.KNOWN, size)
        cosigned = cosign(note, self.identity.name, self.identity.key, int(self._clock()))
        self.store.witness(Witnessed(node, size, checkpoint.root, cosigned, self._now()))
        return Outcome(node, Verdict.WITNESSED, size)

    def _forked(self, node: str, note: str, size: int, detail: str) -> Outcome:
        accepted = self.store.witnessed(node)
        fork = Fork(node, accepted.note if accepted else "", note, detail, self._now())
        if not self.store.record_fork(fork):
            return Outcome(node, Verdict.FORKED, size, detail)  # evidence already kept
        return Outcome(node, Verdict.FORKED, size, detail, fork)

    def pins(self) -> tuple[str, ...]:
        """The extension lines of this node's own checkpoints: the latest
        witnessed checkpoint of every descendant it witnesses, by code."""
        return tuple(pin_line(record) for record in self.store.all_witnessed())


def _size_of(note: str) -> int:
    try:
        return Checkpoint.parse(note.partition("\n\n")[0] + "\n").size
    except BadNote:
        return 0
