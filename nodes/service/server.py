"""Building and running one node's gRPC server.

`start` returns the running server and the port it bound, so tests listen on
port 0. Health and reflection are on, so stock tools (grpcurl, grpc_health_probe)
can list and call the node.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent import futures
from dataclasses import dataclass

import grpc
import structlog
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from caseledger.ledger.application import CaseLedger
from caseledger.ledger.audit.identity import load_or_create
from caseledger.ledger.audit.merkle_logs import merkle_log_of
from caseledger.ledger.limits import MAX_REQUEST_BYTES
from caseledger.ledger.personal.case_index import CaseIndex
from caseledger.ledger.personal.key_peers import KeyPeers
from caseledger.ledger.personal.keystore import SQLiteSubjectKeyStore
from caseledger.ledger.personal.sealing import SubjectKeys
from caseledger.ledger.request_ids import SQLiteRequestIds
from caseledger.ledger.trail.quarantine import Quarantine
from caseledger.ledger.trail.received import ReceivedEvents
from caseledger.nodes.config import NodeConfig
from caseledger.nodes.handoff.courier import Courier
from caseledger.nodes.handoff.handover import Handoffs
from caseledger.nodes.handoff.service import HandoffService
from caseledger.nodes.metrics import Metrics
from caseledger.nodes.replication.grpc_feed import LogStreamFeed, Source
from caseledger.nodes.replication.kafka_client import BrokerSettings, TopicSettings
from caseledger.nodes.replication.kafka_feed import (
    PUBLISHING_HEALTH,
    KafkaFeed,
    KafkaPublisher,
    TopicLayout,
)
from caseledger.nodes.replication.port import Feed, FeedMetrics, Intake
from caseledger.nodes.service.audit import AuditService
from caseledger.nodes.service.boundary import Boundary
from caseledger.nodes.service.checkpoints import Checkpoints
from caseledger.nodes.service.exchange import NodeExchange, exchange_location
from caseledger.nodes.service.intake import IntakeService
from caseledger.nodes.service.ledger import LedgerService, LedgerSettings
from caseledger.nodes.service.log import LogService
from caseledger.nodes.service.report import ReportService
from caseledger.nodes.service.security import security_of
from caseledger.nodes.service.views import PROJECTIONS_HEALTH, NodeViews
from caseledger.nodes.service.witnessing import attach_witness, detach_witness
from caseledger.nodes.trust.sealing import load_sealing_key
from caseledger.nodes.trust.transport import INSECURE, SERVER_KEEPALIVE, Transport
from caseledger.nodes.workers import Workers
from caseledger.v1 import (
    audit_pb2,
    audit_pb2_grpc,
    handoff_pb2,
    handoff_pb2_grpc,
    intake_pb2,
    intake_pb2_grpc,
    ledger_pb2,
    ledger_pb2_grpc,
    log_pb2,
    log_pb2_grpc,
    report_pb2,
    report_pb2_grpc,
)

_log = structlog.get_logger("caseledger.nodes.server")

QUARANTINE_HEALTH = "caseledger.quarantine"
"""The health service that is NOT_SERVING while the node holds a case in quarantine."""


@dataclass
class RunningNode:
    config: NodeConfig
    server: grpc.Server
    port: int
    ledger: CaseLedger
    metrics: Metrics
    health: health.HealthServicer
    stopping: threading.Event
    keys: SQLiteSubjectKeyStore
    handoffs: Handoffs
    courier: Courier
    feed: Feed
    intake: Intake
    publisher: KafkaPublisher | None = None
    request_ids: SQLiteRequestIds | None = None
    checkpoints: Checkpoints | None = None
    transport: Transport = INSECURE
    views: NodeViews | None = None
    exchange: NodeExchange | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self, grace: float = 5.0) -> None:
        """Drain: refuse new calls, let running ones finish, then close the stores."""
        self.health.enter_graceful_shutdown()
        self.stopping.set()
        self.handoffs.stop()
        self.courier.stop()
        self.feed.stop()
        self.server.stop(grace).wait()
        if self.views is not None:
            self.views.stop()
        if self.exchange is not None:
            self.exchange.stop()
        if self.publisher is not None:
            self.publisher.stop()
        if self.checkpoints is not None:
            self.checkpoints.stop()
        detach_witness(self.ledger)
        self.ledger.close()
        self.keys.close()
        if self.request_ids is not None:
            self.request_ids.close()


def start(
    config: NodeConfig,
    sources: Sequence[Source] = (),
    directory: Mapping[str, str] | None = None,
) -> RunningNode:
    """Start a node: its stores, its gRPC server, then its feed: the log
    streams of `sources`, or (feed `kafka`) its publisher and topic consumer.
    `directory` maps the division codes of the network's nodes to their addresses."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    keys = SQLiteSubjectKeyStore(str(config.key_db))
    received = ReceivedEvents(
        env=config.persistence_env(config.received_db),
        # Always SQLite, next to the subject keys, for either event store.
        quarantine=Quarantine(str(config.data_dir / f"{config.code}.quarantine.sqlite")),
    )
    # Next to the subject keys, for either event store (`request_ids`).
    request_ids = SQLiteRequestIds(str(config.data_dir / f"{config.code}.requests.sqlite"))
    ledger = CaseLedger(
        config.code,
        SubjectKeys(keys),
        env=config.persistence_env(),
        received=received,
        request_ids=request_ids,
    )
    metrics = Metrics()
    stopping = threading.Event()
    transport, gate = security_of(config, metrics)
    health_servicer = health.HealthServicer()
    # Every background thread reports here: a failure shows in health and metrics.
    workers = Workers(metrics.registry, health_servicer)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=config.workers),
        # Who calls is checked first (`gate`); then every request is decoded and
        # bounded once (`boundary`); one larger than the largest a node takes is
        # turned away before it is read.
        interceptors=[*([gate] if gate is not None else []), Boundary(metrics)],
        options=[
            ("grpc.max_receive_message_length", MAX_REQUEST_BYTES),
            # One node per port: a second server on a bound port fails to start
            # instead of sharing the port's calls with the first.
            ("grpc.so_reuseport", 0),
            *SERVER_KEEPALIVE,
        ],
    )
    settings = LedgerSettings(
        allow_client_time=config.allow_client_time, calendar=config.calendar()
    )
    bound: list[str] = []
    handoffs = Handoffs(
        ledger,
        directory if directory is not None else {},
        lambda: bound[0],
        armed=config.failpoint,
        simulated_time=config.allow_client_time,
        transport=transport,
        sealing=load_sealing_key(config.data_dir, config.code) if transport.secure else None,
        key_peers=KeyPeers(str(config.key_db)),
        workers=workers,
    )
    ledger_pb2_grpc.add_LedgerServiceServicer_to_server(
        LedgerService(
            ledger,
            settings,
            metrics,
            handoffs,
            gate,
            # Beside the subject keys, for either event store (`CaseIndex`).
            index=CaseIndex(str(config.data_dir / f"{config.code}.index.sqlite")),
        ),
        server,
    )
    intake_pb2_grpc.add_IntakeServiceServicer_to_server(
        IntakeService(ledger, settings, metrics, gate), server
    )
    handoff_pb2_grpc.add_HandoffServiceServicer_to_server(
        HandoffService(ledger, handoffs, settings.clock, gate), server
    )
    log_pb2_grpc.add_LogServiceServicer_to_server(LogService(ledger, stopping, gate), server)
    # The node's signed checkpoints, where its store keeps a Merkle log (docs/audit.md).
    checkpoints = None
    merkle_log = merkle_log_of(ledger.recorder)
    if merkle_log is not None:
        checkpoints = Checkpoints(
            merkle_log, load_or_create(config.data_dir, config.code), workers=workers
        )
    audit_pb2_grpc.add_AuditServiceServicer_to_server(AuditService(ledger, checkpoints), server)
    views = NodeViews(
        config.views_db, ledger, settings.calendar, metrics, _projections_health(health_servicer)
    )
    exchange = NodeExchange(exchange_location(config), ledger, settings.calendar)
    report_pb2_grpc.add_ReportServiceServicer_to_server(
        ReportService(views, settings.clock, exchange), server
    )
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    served = (
        ledger_pb2.DESCRIPTOR.services_by_name["LedgerService"].full_name,
        log_pb2.DESCRIPTOR.services_by_name["LogService"].full_name,
        handoff_pb2.DESCRIPTOR.services_by_name["HandoffService"].full_name,
        audit_pb2.DESCRIPTOR.services_by_name["AuditService"].full_name,
        report_pb2.DESCRIPTOR.services_by_name["ReportService"].full_name,
        intake_pb2.DESCRIPTOR.services_by_name["IntakeService"].full_name,
    )
    services = (*served, health.SERVICE_NAME, reflection.SERVICE_NAME)
    reflection.enable_server_reflection(services, server)
    port = transport.bind(server, config.listen)
    if port == 0:
        raise OSError(f"could not bind {config.listen}")
    server.start()
    bound.append(f"127.0.0.1:{port}" if config.listen.startswith("127.0.0.1") else config.listen)
    handoffs.start()
    courier = Courier(ledger, handoffs.directory, transport, workers)
    courier.start()
    for name in ("", *served):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    _report_quarantine(health_servicer, received)
    # The views follow the logs from where they stand; the node serves meanwhile.
    views.start()
    exchange.start()
    intake = Intake(received, ledger.known_hashes, FeedMetrics(metrics.registry))
    feed, publisher = _feed(
        config,
        ledger,
        intake,
        sources=sources,
        transport=transport,
        workers=workers,
        health_servicer=health_servicer,
    )
    if config.witness:
        # Before the feed starts, so the witness sees every event it stores (docs/audit.md).
        attach_witness(
            config,
            ledger,
            checkpoints,
            intake=intake,
            health=health_servicer,
            registry=metrics.registry,
            publisher=publisher,
        )
    feed.start()
    if checkpoints is not None:
        checkpoints.start()
    return RunningNode(
        config,
        server,
        port,
        ledger,
        metrics,
        health_servicer,
        stopping,
        keys,
        handoffs,
        courier,
        feed,
        intake,
        publisher,
        request_ids,
        checkpoints,
        transport,
        views,
        exchange,
    )


def _report_quarantine(health_servicer: health.HealthServicer, received: ReceivedEvents) -> None:
    """`QUARANTINE_HEALTH` is NOT_SERVING while any case is held in quarantine,
    so `grpc_health_probe -service caseledger.quarantine` flags the node; the
    node itself keeps serving. `caseledger audit quarantined` says why."""
    quarantine = received.quarantine
    assert quarantine is not None

    def held(_: object = None) -> None:
        status = health_pb2.HealthCheckResponse.SERVING
        if quarantine.entries():
            status = health_pb2.HealthCheckResponse.NOT_SERVING
        health_servicer.set(QUARANTINE_HEALTH, status)

    held()
    quarantine.observe(held)


def _publishing_health(health_servicer: health.HealthServicer) -> Callable[[bool], None]:
    """`caseledger.publishing` SERVING while the authored events reach the broker,
    NOT_SERVING while publishing stalls (the node takes appends all the same)."""

    def publishing(flowing: bool) -> None:
        status = health_pb2.HealthCheckResponse.SERVING
        if not flowing:
            status = health_pb2.HealthCheckResponse.NOT_SERVING
        health_servicer.set(PUBLISHING_HEALTH, status)

    return publishing


def _projections_health(health_servicer: health.HealthServicer) -> Callable[[bool], None]:
    """`PROJECTIONS_HEALTH` is SERVING while the views' follower runs and NOT_SERVING
    once it stops or fails, so `grpc_health_probe -service caseledger.projections`
    flags views going stale; the node itself keeps serving, reports from what the
    views hold, and `caseledger projection status` says why."""

    def following(running: bool) -> None:
        status = health_pb2.HealthCheckResponse.SERVING
        if not running:
            status = health_pb2.HealthCheckResponse.NOT_SERVING
        health_servicer.set(PROJECTIONS_HEALTH, status)

    return following


def _feed(
    config: NodeConfig,
    ledger: CaseLedger,
    intake: Intake,
    *,
    sources: Sequence[Source],
    transport: Transport,
    workers: Workers,
    health_servicer: health.HealthServicer,
) -> tuple[Feed, KafkaPublisher | None]:
    """The node's feed (not started yet): the log streams of `sources`, or (feed
    `kafka`) the topic consumer, with its publisher started."""
    if config.feed != "kafka":
        return LogStreamFeed(list(sources), intake, transport, workers), None
    publisher, feed = _kafka_replication(config, ledger, intake, workers, health_servicer)
    publisher.start()
    return feed, publisher


def _kafka_replication(
    config: NodeConfig,
    ledger: CaseLedger,
    intake: Intake,
    workers: Workers,
    health_servicer: health.HealthServicer,
) -> tuple[KafkaPublisher, KafkaFeed]:
    if not config.kafka_bootstrap:
        raise ValueError(f"node {config.code}: the kafka feed needs a broker (kafka_bootstrap)")
    broker = BrokerSettings(config.kafka_bootstrap, client_id=f"caseledger-{config.code}")
    layout = TopicLayout(config.kafka_topic_prefix)
    positions_env = config.persistence_env(config.published_db)
    publisher = KafkaPublisher(
        config.code,
        ledger.recorder,
        broker,
        layout,
        positions_env,
        topics=TopicSettings(
            replication_factor=config.kafka_replication_factor,
            min_insync_replicas=config.kafka_min_insync_replicas,
        ),
        registry=workers.registry,
        workers=workers,
        publishing=_publishing_health(health_servicer),
    )
    return publisher, KafkaFeed(config.code, intake, broker, layout, workers=workers)
