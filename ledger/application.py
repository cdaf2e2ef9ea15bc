"""One node's ledger: cases and catalogue on an `eventsourcing` application.

The store is chosen by the environment the node is given (the library's
`PERSISTENCE_MODULE` and its settings), never by code. Events are stored
under their stable names (`names`, through the mapper of `mapper`). Every command is
idempotent per client request id: the request id and a digest of the
request are recorded in the event, so a retry returns the first result and
appends nothing, and a reused id with other content is refused.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import EventSourcingError
from eventsourcing.persistence import ApplicationRecorder, IntegrityError, Mapper, StoredEvent

from caseledger.ledger.audit.recorders import authored_log_recorder
from caseledger.ledger.case.aggregate import Case, Context, ItemRef, Material, Operator
from caseledger.ledger.case.events import CaseEvent, china_date
from caseledger.ledger.case_cache import CaseCache
from caseledger.ledger.catalogue import UNRECORDED, Item, ItemTerms, item_id
from caseledger.ledger.codes.numbering import CaseNumber, SerialCounter, number_index_id
from caseledger.ledger.codes.vocabulary import ApplicantType, SubmissionChannel
from caseledger.ledger.errors import (
    CaseExists,
    CaseNotFound,
    InvalidInput,
    ItemNotFound,
    SubjectNotFound,
    TrailDamaged,
    UnreadableEvent,
    VersionConflict,
)
from caseledger.ledger.held.events import HeldEvents
from caseledger.ledger.intake import ApplicantForm, identity_number, seal_applicant
from caseledger.ledger.mapper import stable_names_mapper
from caseledger.ledger.personal.sealing import ErasedSubject, Sealed, SubjectKeys
from caseledger.ledger.request_ids import Claim, MemoryRequestIds, RequestIds, take
from caseledger.ledger.sqlite.group_commit import GroupCommit
from caseledger.ledger.trail.canonical import NotCanonical, canonical_json
from caseledger.ledger.trail.received import ReceivedEvents

_CASE_NAMESPACE = uuid5(NAMESPACE_URL, "caseledger:case")
_LOCK_STRIPES = 64
_MAX_ATTEMPTS = 8
_CACHED_CASES = 20_000
# What applying an event that verified but does not fit its aggregate raises.
_DOES_NOT_APPLY = (
    LookupError,
    TypeError,
    ValueError,
    AttributeError,
    AssertionError,
    EventSourcingError,
)


def case_id_for(node: str, request_id: str) -> UUID:
    """A submission's case id follows from where and by which request it came,
    so a retried submission finds the case it created."""
    return uuid5(_CASE_NAMESPACE, f"{node}/{request_id}")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Outcome:
    """What a command did: the case's version after it, and whether it was a retry."""

    case_id: UUID
    number: str
    version: int
    replayed: bool


class CaseLedger(Application[UUID]):
    """The ledger of one node (节点), named by its 12-digit division code."""

    def __init__(
        self,
        node: str,
        keys: SubjectKeys,
        env: Mapping[str, str] | None = None,
        received: ReceivedEvents | None = None,
        request_ids: RequestIds | None = None,
    ) -> None:
        super().__init__(env=dict(env or {}))
        # Every request id this node took, so one is never taken twice (`request_ids`).
        self.request_ids: RequestIds = request_ids or MemoryRequestIds()
        self.node = node
        self.keys = keys
        self.received = received
        # Its authored and received events as one: trails, hashes, imports, following.
        self.held = HeldEvents(self, received)
        self.known_hashes = self.held.known_hashes
        self._locks = [threading.Lock() for _ in range(_LOCK_STRIPES)]
        self._cases = CaseCache(_CACHED_CASES)
        self._numbers: dict[str, UUID] = {}
        self._group = GroupCommit(self._record_events)
        self._serials = SerialCounter(node, self._number_claimed)

    def construct_mapper(self) -> Mapper[UUID]:
        return stable_names_mapper(self)

    def construct_recorder(self) -> ApplicationRecorder:
        # The node's own log keeps its Merkle log with it (docs/audit.md).
        return authored_log_recorder(self.factory)

    # -- catalogue -----------------------------------------------------------

    def publish_item(self, terms: ItemTerms, operator: Operator = UNRECORDED) -> int:
        """Publish or revise a catalogue item; returns the item's version.

        `operator` is who did it, recorded in the event for audit as case
        events record theirs; left out, it is recorded as unrecorded."""
        try:
            item: Item = self.repository.get(item_id(str(terms.implementation_code)))
        except AggregateNotFoundError:
            item = Item.publish(self.node, terms, operator)
        else:
            item.revise(terms, operator)
        self.save(item)
        return item.version

    def item(self, implementation_code: str) -> ItemTerms:
        """The catalogue's terms for an item; ItemNotFound if none is published."""
        item = self._load(item_id(implementation_code))
        if not isinstance(item, Item):
            raise ItemNotFound(implementation_code)
        return item.terms

    def item_for_submission(self, implementation_code: str) -> ItemTerms:
        """The same, where an unknown item is a bad field of the submission."""
        try:
            return self.item(implementation_code)
        except ItemNotFound as error:
            raise InvalidInput.single("item_code", str(error)) from None

    # -- cases ---------------------------------------------------------------

    def submit(
        self,
        ctx: Context,
        item_code: str,
        channel: SubmissionChannel,
        applicant: ApplicantForm,
        materials: list[Material],
        *,
        terms: ItemTerms | None = None,
    ) -> Outcome:
        """申报/收件: open a case owned by this node.

        `terms`: the item's terms as the caller read them (`item_for_submission`)
        for many submissions of one item at once, an import's call; read here
        when left out."""
        case_id = case_id_for(self.node, ctx.request_id)
        with self._lock(case_id):
            existing = self._find(case_id)
            if existing is not None:
                version = existing.replay_of(ctx)
                if version is None:
                    raise CaseExists(existing.number)
                return Outcome(case_id, existing.number, version, replayed=True)
            self._take_request(ctx, case_id)  # before a key is made for the applicant
            if terms is None or str(terms.implementation_code) != item_code:
                terms = self.item_for_submission(item_code)
            item = ItemRef(
                basic_code=str(terms.implementation_code.basic_code),
                implementation_code=str(terms.implementation_code),
                name=terms.name,
                issues_certificate=terms.issues_certificate,
            )
            sealed = seal_applicant(applicant, self.keys)
            for _ in range(_MAX_ATTEMPTS):
                number = self._serials.take(china_date(ctx.at))
                case = Case.submit(
                    case_id,
                    ctx,
                    number=number,
                    item=item,
                    channel=channel,
                    applicant=sealed,
                    materials=materials,
                )
                try:
                    self._durably(case, CaseNumber.claim(number, case_id))
                except IntegrityError:
                    # Either the number was claimed by another process of the
                    # same node, or the case itself raced in: look again.
                    self._serials.skip_past(number)
                    if self._find(case_id) is not None:
                        return self._replay(case_id, ctx)
                    continue
                self._cases.keep(case)
                self._remember_number(number, case_id)
                return Outcome(case_id, number, case.version, replayed=False)
        raise VersionConflict(str(case_id), 0, 0)

    def _replay(self, case_id: UUID, ctx: Context) -> Outcome:
        case = self.case(case_id)
        version = case.replay_of(ctx)
        if version is None:
            raise CaseExists(case.number)
        return Outcome(case_id, case.number, version, replayed=True)

    def execute(
        self,
        case_ref: str | UUID,
        ctx: Context,
        action: Callable[[Case, Context], None],
        expected_version: int = 0,
    ) -> Outcome:
        """Run one command on a case: retry-safe, and atomic (all or nothing).

        `action` gets the case and the context to run under: the given one, or,
        when its time came from the node's clock and another command on the
        case committed a later time meanwhile, the same at that later time."""
        case_id = self.resolve(case_ref)
        with self._lock(case_id):
            for _ in range(_MAX_ATTEMPTS):
                case = self.case(case_id)
                version = case.replay_of(ctx)
                if version is not None:
                    return Outcome(case_id, case.number, version, replayed=True)
                if expected_version and case.version != expected_version:
                    raise VersionConflict(case.number, expected_version, case.version)
                run_ctx = ctx
                if ctx.node_clock and ctx.at < case.modified_on:
                    run_ctx = dataclasses.replace(ctx, at=case.modified_on)
                try:
                    action(case, run_ctx)
                    self._take_request(run_ctx, case_id)
                    self._durably(case)
                except IntegrityError:
                    self._cases.forget(case_id)
                    continue  # another writer appended; decide again on fresh state
                except BaseException:
                    # Commands check before they trigger, so a refused command
                    # leaves the case untouched; anything else may not have.
                    if case.pending_events:
                        self._cases.forget(case_id)
                    raise
                self._cases.keep(case)
                return Outcome(case_id, case.number, case.version, replayed=False)
        raise VersionConflict(str(case_ref), expected_version, -1)

    def resolve(self, case_ref: str | UUID) -> UUID:
        """A case id from a UUID or a case number (办件编号)."""
        if isinstance(case_ref, UUID):
            return case_ref
        try:
            return UUID(case_ref)
        except ValueError:
            pass
        known = self._numbers.get(case_ref)
        if known is not None:
            return known
        index = self._load(number_index_id(case_ref))
        if not isinstance(index, CaseNumber) or index.case_id is None:
            raise CaseNotFound(case_ref)
        self._remember_number(case_ref, index.case_id)
        return index.case_id

    def _remember_number(self, number: str, case_id: UUID) -> None:
        # A claimed number never changes its case, so this map never goes stale.
        if len(self._numbers) >= _CACHED_CASES:
            self._numbers.clear()
        self._numbers[number] = case_id

    def case(self, case_ref: str | UUID) -> Case:
        case_id = self.resolve(case_ref)
        found = self._find(case_id)
        if found is None:
            raise CaseNotFound(str(case_ref))
        return found

    def trail(self, case_ref: str | UUID) -> list[CaseEvent]:
        """Every event of a case this node holds from version 1 on, in order,
        each with a canonical form to send (TrailDamaged if one has none)."""
        case_id = self.resolve(case_ref)
        events = [e for e in self._merged(case_id) if isinstance(e, CaseEvent)]
        if not events:
            raise CaseNotFound(str(case_ref))
        for event in events:
            try:
                canonical_json(event.hashed_form())
            except NotCanonical as error:
                raise TrailDamaged(
                    str(case_id),
                    event.originator_version,
                    TrailDamaged.UNREADABLE,
                    f"its content has no canonical form: {error}",
                ) from error
        return events

    def stored_trail(self, case_id: UUID, after_version: int = 0) -> list[StoredEvent]:
        """An aggregate's events as stored, from both stores (`HeldEvents.stored_trail`)."""
        return self.held.stored_trail(case_id, after_version)

    def _merged(self, aggregate_id: UUID) -> list[Any]:
        """The aggregate's events from both stores, decoded, in version order,
        from version 1 on. TrailDamaged where a version is missing before the
        last one held, an event does not decode, or the two stores hold case
        events of one version with different hashes."""
        authored, received = self.held.copies(aggregate_id)
        merged = []
        case = str(aggregate_id)
        for expected, version in enumerate(sorted(authored.keys() | received.keys()), start=1):
            if version != expected:
                raise TrailDamaged(
                    case,
                    expected,
                    TrailDamaged.MISSING,
                    f"version {expected} is missing (the node holds version {version} after it)",
                )
            event = self._decoded(case, authored.get(version) or received[version])
            if version in authored and version in received and isinstance(event, CaseEvent):
                self._same_copy(case, event, received[version])
            merged.append(event)
        return merged

    def _decoded(self, case: str, stored: StoredEvent) -> Any:
        # Both stores encode with the same transcoder settings.
        try:
            return self.mapper.to_domain_event(stored)
        except UnreadableEvent as error:
            raise TrailDamaged(
                case, stored.originator_version, TrailDamaged.UNREADABLE, str(error)
            ) from error

    def _same_copy(self, case: str, authored: CaseEvent, received: StoredEvent) -> None:
        """Two copies of one case event must be the same event (only case events
        are chained: catalogue items of one code are published at several nodes)."""
        copy = self._decoded(case, received)
        if isinstance(copy, CaseEvent) and copy.hash != authored.hash:
            raise TrailDamaged(
                case,
                authored.originator_version,
                TrailDamaged.CONFLICT,
                "the node's authored and received stores hold different copies",
                held_hash=authored.hash,
                other_hash=copy.hash,
            )

    def _load(self, aggregate_id: UUID) -> Any | None:
        aggregate = None
        for event in self._merged(aggregate_id):
            try:
                aggregate = event.mutate(aggregate)
            except _DOES_NOT_APPLY as error:
                # It verified where it came from, but is not an event this
                # aggregate can take at this point: the trail held is damaged.
                raise TrailDamaged(
                    str(aggregate_id),
                    event.originator_version,
                    TrailDamaged.UNREADABLE,
                    f"{type(event).__name__} does not apply to the case: {error!r}",
                ) from error
        return aggregate

    def erase_subject(self, applicant_type: ApplicantType, id_number: str) -> str:
        """擦除: destroy this node's key of a data subject; returns the subject id.
        No event changes, so no chain does."""
        subject = self.keys.subject_of(identity_number(applicant_type, id_number, "id_number"))
        if not self.keys.erase(subject):
            raise SubjectNotFound(subject)
        return subject

    def open_sealed(self, sealed: Sealed, field: str) -> str | None:
        """The clear text of a sealed datum; None once its subject was erased.
        KeyNotHeld when it was sealed at a node whose keys this one lacks."""
        try:
            return self.keys.open(sealed, field)
        except ErasedSubject:
            return None

    def close(self) -> None:
        self._group.close()
        super().close()
        if self.received is not None:
            self.received.close()

    # -- internals -----------------------------------------------------------

    def _record_events(self, events: Sequence[Any]) -> None:
        # Followers of the log are woken by the recorder's subscriptions.
        self.save(*events)

    def _durably(self, *aggregates: Case | CaseNumber) -> None:
        events: list[Any] = []
        for aggregate in aggregates:
            events.extend(aggregate.collect_events())
        self._group.commit(events)

    def _lock(self, case_id: UUID) -> threading.Lock:
        return self._locks[case_id.int % _LOCK_STRIPES]

    def _find(self, case_id: UUID) -> Case | None:
        cached = self._cases.get(case_id)
        if cached is not None and cached.writable_by(self.node):
            return cached
        case = self._load(case_id)
        if not isinstance(case, Case):
            return None
        if case.writable_by(self.node):
            # Only cases this node writes are cached: nothing else appends to
            # them, so the cached state cannot fall behind the stores.
            self._cases.keep(case)
        return case

    def _take_request(self, ctx: Context, case_id: UUID) -> None:
        """Hold the request id for this case and request, under the case's lock;
        RequestReused if another case or another request holds it."""
        take(
            self.request_ids,
            ctx.request_id,
            Claim(case_id, ctx.request_digest),
            lambda holder: self._records_request(holder, ctx.request_id, case_id),
        )

    def _records_request(self, holder: UUID, request_id: str, case_id: UUID) -> bool:
        """Whether case `holder` recorded `request_id`, or a command on it is
        running (it may be that request's). The caller holds `case_id`'s lock."""
        lock = self._lock(holder)
        if lock is self._lock(case_id):
            found = self._find(holder)
            return found is not None and request_id in found.requests
        # A timeout, not a wait: two commands may each look at the other's case.
        if not lock.acquire(timeout=1.0):
            return True
        try:
            found = self._find(holder)
            return found is not None and request_id in found.requests
        finally:
            lock.release()

    def _number_claimed(self, number: str) -> bool:
        return number_index_id(number) in self.repository
