"""An erasure that reaches every node holding the subject's key.

The rules are in `caseledger.ledger.personal.key_peers`: a key handed over makes
its two nodes peers for the subject; an erasure at any node erases its copies
(under its own id and under the ids other nodes gave the same person), records
it, and owes each peer a notice; a notice erases the copy there, is recorded
with the node that sent it, and is owed on to the other peers. Notices are
delivered by the handoff thread, again until a peer answers, so a peer that is
down when the erasure happens gets it when it returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

import grpc
import structlog

from caseledger.ledger.application import CaseLedger
from caseledger.ledger.codes.vocabulary import ApplicantType
from caseledger.ledger.errors import SubjectNotFound
from caseledger.ledger.intake import identity_number
from caseledger.ledger.personal.key_peers import KeyPeers
from caseledger.ledger.personal.sealing import KeyNotHeld, Sealed
from caseledger.nodes.trust.transport import Transport
from caseledger.v1 import handoff_pb2, handoff_pb2_grpc

_log = structlog.get_logger("caseledger.nodes.handoff.erasure")
_NOTICE_TIMEOUT = 10.0
HERE = "here"


class NotAPeer(Exception):
    """A notice from a node this node never shared the subject's key with."""


class Erasures:
    def __init__(
        self,
        ledger: CaseLedger,
        peers: KeyPeers,
        directory: Mapping[str, str],
        transport: Transport,
    ) -> None:
        self._ledger = ledger
        self.peers = peers
        self._directory = directory
        self._transport = transport

    # -- keys travelling -------------------------------------------------------------

    def handed(self, subject: str, node: str) -> None:
        self.peers.add_peer(subject, node)

    def adopted(self, subject: str, source: str, case_id: UUID) -> None:
        """A key taken from `source`: it is a peer; and this node's own id for the
        person (read from the case, now that it opens) is an alias of the id."""
        self.peers.add_peer(subject, source)
        trail = self._ledger.trail(case_id)
        applicant = trail[0].payload.get("applicant", {}) if trail else {}
        try:
            sealed = Sealed.from_json(applicant.get("id_number"))
            number = self._ledger.open_sealed(sealed, "id_number")
        except (ValueError, KeyNotHeld, AttributeError):
            return
        if number is not None:
            self.peers.add_alias(self._ledger.keys.subject_of(number), subject)

    # -- erasing ------------------------------------------------------------------------

    def erase_by_identity(self, applicant_type: ApplicantType, id_number: str) -> str:
        """擦除 at this node: every copy of the person's key it holds, under its own id
        and those other nodes gave the person; each peer is owed a notice."""
        subject = self._ledger.keys.subject_of(
            identity_number(applicant_type, id_number, "id_number")
        )
        targets = [subject, *self.peers.aliased(subject)]
        erased = [s for s in targets if self._ledger.keys.erase(s)]
        if not erased:
            raise SubjectNotFound(subject)
        for each in erased:
            self._recorded(each, HERE, exclude="")
        return subject

    def notice(self, subject: str, from_node: str) -> bool:
        """A peer's erasure of `subject`; True when a copy was erased here."""
        if from_node not in self.peers.peers(subject):
            raise NotAPeer(
                f"node {from_node} never shared the key of subject {subject} with this node"
            )
        erased = False
        for each in [subject, *self.peers.aliases_of(subject)]:
            if self._ledger.keys.erase(each):
                erased = True
                self._recorded(each, from_node, exclude=from_node)
        if not erased:
            self._recorded(subject, from_node, exclude=from_node)
        return erased

    def _recorded(self, subject: str, requested_by: str, exclude: str) -> None:
        if self.peers.record(subject, requested_by):
            _log.warning("subject key erased", subject=subject, requested_by=requested_by)
        for node in self.peers.peers(subject):
            if node != exclude:
                self.peers.owe(subject, node)

    # -- notices ------------------------------------------------------------------------

    def deliver(self) -> int:
        """Send the notices owed; how many were delivered."""
        done = 0
        for subject, node in self.peers.owed():
            address = self._directory.get(node)
            if address is None:
                _log.error("an erasure notice is owed to a node not in the network", node=node)
                continue
            try:
                with self._transport.channel(address, node) as channel:
                    handoff_pb2_grpc.HandoffServiceStub(channel).EraseSubjectKey(
                        handoff_pb2.EraseSubjectKeyRequest(
                            subject=subject, from_node=self._ledger.node
                        ),
                        timeout=_NOTICE_TIMEOUT,
                    )
            except grpc.RpcError as error:
                _log.info("erasure notice not delivered yet", node=node, code=str(error.code()))
                continue
            self.peers.delivered(subject, node)
            done += 1
        return done


__all__ = ["HERE", "Erasures", "NotAPeer"]
