"""The courier: carries a handed-over case's new events to the nodes that held it.

Replication brings a node the events of its own subtree. A case that was
handed over also has to reach every node that owned it before, and those
nodes' ancestors, wherever they sit: they hold the case's earlier trail and
must end up with all of it. So this node follows its own authored log
(the log's subscription, woken by each commit: `HeldEvents.follow_authored`)
and, for each event of a case that has had more than one owner, delivers the
case's trail up to that event to each of those nodes that is not this node
(`DeliverTrail`; the receiver verifies it and stores only what it lacks).

Its position in the log is recorded once the deliveries of its events
succeeded, in the node's received-events store: at most every half second
while events keep coming, and as soon as the log goes quiet or the courier
stops. A restart repeats at most that half second's deliveries (harmless:
they store nothing new). A node that is down holds the courier back until
it returns: deliveries are in log order.

A node that refuses a trail (DATA_LOSS: it holds another copy of a version,
or the trail does not verify there) does not hold the courier back: the
refusal, with the evidence the node sent, is logged at error level and the
courier goes on (the receiver records a conflict in its quarantine). Nor
does a case whose trail is damaged here: it is logged and passed over.
Any other failure (a store error, a bug) is reported to the node's `Workers`
(logged at error, counted, the `caseledger.worker.courier` health service
NOT_SERVING) and the page is tried again after a backoff: the courier never
stops while the node runs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from uuid import UUID

import grpc
import structlog
from eventsourcing.persistence import Notification

from caseledger.ledger import names
from caseledger.ledger.application import CaseLedger
from caseledger.ledger.codes.division import DivisionCode
from caseledger.ledger.codes.numbering import number_index_id
from caseledger.ledger.errors import LedgerError
from caseledger.ledger.held.following import LogTail
from caseledger.nodes.handoff.handover import records_of
from caseledger.nodes.trust.transport import INSECURE, Transport
from caseledger.nodes.workers import COURIER, Backoff, Workers
from caseledger.v1 import handoff_pb2, handoff_pb2_grpc

_log = structlog.get_logger("caseledger.nodes.handoff.courier")
_POSITION = "courier"
_IDLE_SECONDS = 0.5  # how often an idle courier reports and looks whether it should stop
_RETRY_SECONDS = 0.1  # how soon a delivery to a node that was down is tried again
_PAGE = 200
# Under load a page is one event, and recording the position is a transaction
# with an fsync: recorded per page it cost a loaded node 8% of its time.
_RECORD_EVERY = 0.5


def interested_in(owners: list[str], directory: Mapping[str, str], me: str) -> list[str]:
    """The listed nodes that must hold a case owned by `owners`: each owner and
    each listed ancestor of one, except this node."""
    codes = {DivisionCode.parse(code) for code in owners}
    found = []
    for code in directory:
        if code == me:
            continue
        division = DivisionCode.parse(code)
        if any(division.contains(owner) for owner in codes):
            found.append(code)
    return sorted(found)


class Courier:
    def __init__(
        self,
        ledger: CaseLedger,
        directory: Mapping[str, str],
        transport: Transport = INSECURE,
        workers: Workers | None = None,
    ) -> None:
        self._ledger = ledger
        self._directory = directory
        self._transport = transport
        self._workers = workers if workers is not None else Workers()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="courier", daemon=True)
        self._carried: int | None = None  # the last position carried and not yet recorded
        self._recorded_at = 0.0

    def start(self) -> None:
        self._workers.started(COURIER)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        backoff = Backoff()
        tail: LogTail | None = None
        while not self._stopping.is_set():
            try:
                if tail is None:
                    # The log's subscription from the recorded position: woken
                    # by each commit, so a new event is carried once it is durable.
                    position = self._ledger.held.follower_position(_POSITION)
                    tail = self._ledger.held.follow_authored(position, name="courier-tail")
                blocked = self._carry_page(tail)
            except Exception as error:
                # Not a node being down (handled in `_carry`): reported, and
                # the page tried again, from the recorded position.
                self._workers.failed(COURIER, error)
                if tail is not None:
                    tail.stop()
                tail = None
                self._stopping.wait(backoff.failed())
                continue
            backoff.succeeded()
            self._workers.succeeded(COURIER)
            if blocked:
                self._stopping.wait(_RETRY_SECONDS)
        if tail is not None:
            tail.stop()
        if self._carried is not None:
            try:
                self._record()
            except Exception as error:  # a restart carries those events again
                self._workers.failed(COURIER, error)

    def _carry_page(self, tail: LogTail) -> bool:
        """Carry the next page the log's subscription has; True when a node
        could not take an event (it is given back, to be tried again)."""
        page = tail.take(_PAGE, timeout=_IDLE_SECONDS)
        carried: Notification | None = None
        blocked = False
        for index, notification in enumerate(page):
            if not self._carry(notification.originator_id, notification.topic):
                tail.give_back(page[index:])  # a node is down: try this event again later
                blocked = True
                break
            carried = notification
        if carried is not None:
            self._carried = carried.id
        if self._carried is not None and (
            not page or time.monotonic() - self._recorded_at >= _RECORD_EVERY
        ):
            self._record()
        return blocked

    def _record(self) -> None:
        """Record the last position carried: an event carried twice after a
        restart stores nothing new at its receivers."""
        assert self._carried is not None
        self._ledger.held.record_follower_position(_POSITION, self._carried)
        self._carried = None
        self._recorded_at = time.monotonic()

    def _carry(self, originator: UUID | str, topic: str) -> bool:
        """Deliver a case's trail to the nodes that held it; False if one could not take it."""
        if not names.is_case_event(topic):
            return True
        case_id = UUID(str(originator))
        try:
            case = self._ledger.case(case_id)
        except LedgerError as error:
            _log.error(
                "trail not carried: the case cannot be read here",
                case=str(case_id),
                error=str(error),
            )
            return True  # retrying reads the same damage: the other cases go on
        if len(case.owners) < 2:
            return True  # never handed over: replication alone reaches everyone
        # The case's trail, and the claim of its number so that it resolves there too.
        requests = [
            handoff_pb2.DeliverTrailRequest(
                from_node=self._ledger.node,
                case_id=str(aggregate_id),
                records=records_of(self._ledger.held.stored_trail(aggregate_id)),
            )
            for aggregate_id in (case_id, number_index_id(case.number))
        ]
        for code in interested_in(case.owners, self._directory, self._ledger.node):
            try:
                with self._transport.channel(self._directory[code], code) as channel:
                    deliver = handoff_pb2_grpc.HandoffServiceStub(channel).DeliverTrail
                    for request in requests:
                        deliver(request, timeout=10)
            except grpc.RpcError as error:
                if error.code() is grpc.StatusCode.DATA_LOSS:
                    _log.error(
                        "trail refused: the node holds another history of the case",
                        case=case.number,
                        to=code,
                        evidence=error.details(),
                    )
                    continue
                _log.info("trail not delivered", case=case.number, to=code, code=str(error.code()))
                return False
        return True
