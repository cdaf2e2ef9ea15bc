"""A node's upward exchange: its stage tables, followed from its two logs.

The node keeps the exchange where it keeps its views (`exchange_location`):
in `<code>.exchange.sqlite` in its data folder, a database of its own beside
the views' file, or, when the views are in PostgreSQL, in the schema
`[<prefix>_]exchange_<code>` of the same database, where reporting tools read
the stage tables as they read `cases`. One more `Follower` runs the
exchange projection over its authored log and its received events, from the
positions the exchange recorded. The report service reads it for pulls
(`StreamExchange`); like the views, it answers from what it holds while the
follower catches up, and a node whose store cannot be followed keeps none.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import structlog
from eventsourcing.persistence import PersistenceError

from caseledger.ledger.application import CaseLedger
from caseledger.ledger.timelimits.calendar import WorkingCalendar
from caseledger.nodes.config import NodeConfig
from caseledger.nodes.service.views import ViewsUnavailable
from caseledger.projections import AUTHORED, RECEIVED, Follower, HeldTrails
from caseledger.projections.exchange import ExchangeProjection, ExchangeViews
from caseledger.projections.location import ViewsLocation

__all__ = ["NodeExchange", "exchange_location"]


def exchange_location(config: NodeConfig) -> ViewsLocation:
    """Where the node keeps its exchange: beside its views, in their kind of store.

    Not in the views' own schema: both record their positions in the same
    upstreams' names in a `tracking` table of their own. `exchange_<code>`
    fits PostgreSQL's 63 bytes under any prefix the network file allows for
    `views_<code>`."""
    if not config.views_db.postgres:
        return ViewsLocation(str(config.data_dir / f"{config.code}.exchange.sqlite"))
    prefix = f"{config.views_schema_prefix}_" if config.views_schema_prefix else ""
    return ViewsLocation(config.views_dsn, f"{prefix}exchange_{config.code}")


_log = structlog.get_logger("caseledger.nodes.exchange")


class NodeExchange:
    """The exchange of one node and its follower."""

    def __init__(
        self, location: ViewsLocation, ledger: CaseLedger, calendar: WorkingCalendar
    ) -> None:
        assert ledger.received is not None
        self._location = location
        self._ledger = ledger
        self._calendar = calendar
        self._upstreams = {AUTHORED: ledger.recorder, RECEIVED: ledger.received.recorder}
        self._exchange: ExchangeViews | None = None
        self._follower: Follower | None = None
        self._lock = threading.Lock()

    @property
    def node(self) -> str:
        return self._ledger.node

    def start(self) -> None:
        """Open the exchange and follow both logs (without subscribing
        recorders the node keeps no exchange, and says so in its log)."""
        try:
            exchange = ExchangeViews.open(self._location.database, self._location.schema)
        except PersistenceError as error:
            # As the views say it: which database, without its password.
            raise type(error)(f"the exchange at {self._location}: {error}") from error
        _log.info("exchange opened", at=str(self._location))
        trails = HeldTrails(list(self._upstreams.values()), self._ledger.mapper)
        projection = ExchangeProjection(exchange, trails, self._ledger.mapper, self._calendar)
        follower = Follower(projection, self._upstreams)
        try:
            follower.start()
        except NotImplementedError as error:
            _log.warning("exchange not followed: the store cannot subscribe", error=str(error))
            exchange.close()
            return
        follower.observe(self._stopped)
        with self._lock:
            self._exchange, self._follower = exchange, follower

    def _stopped(self, follower: Follower) -> None:
        # The pulls go on answering from what the exchange holds; the log says why
        # it stopped growing.
        if follower.error is not None:
            _log.error("exchange follower failed", error=repr(follower.error))

    def stop(self) -> None:
        with self._lock:
            follower, exchange = self._follower, self._exchange
            self._follower = self._exchange = None
        if follower is not None:
            follower.stop()
        if exchange is not None:
            exchange.close()

    @property
    def follower(self) -> Follower | None:
        return self._follower

    def status(self) -> list[tuple[str, int, int]]:
        """Per upstream: (name, the position the exchange reached, the log's head)."""
        exchange = self._exchange
        if exchange is None:
            return []
        return [
            (name, exchange.position(name), recorder.max_notification_id() or 0)
            for name, recorder in self._upstreams.items()
        ]

    def lag(self) -> int:
        """Positions of both logs the exchange has still to process."""
        return sum(max(0, head - position) for _, position, head in self.status())

    @contextmanager
    def reading(self) -> Iterator[ExchangeViews]:
        """The exchange's tables (ViewsUnavailable on a node that keeps none)."""
        exchange = self._exchange
        if exchange is None:
            raise ViewsUnavailable("this node keeps no exchange")
        yield exchange
