"""The AuditService: the node's signed checkpoints and proofs over its Merkle
log, and what it witnessed of its descendants' (`witnessing`)."""

from __future__ import annotations

from typing import NoReturn

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from caseledger.ledger import limits
from caseledger.ledger.application import CaseLedger
from caseledger.ledger.audit import merkle
from caseledger.ledger.audit.cosignature import cosignature_verifier_key
from caseledger.ledger.audit.witness import Witness
from caseledger.ledger.codes.division import DivisionCode
from caseledger.ledger.errors import InvalidInput, LedgerError
from caseledger.nodes.service.checkpoints import BeyondTree, Checkpoints, SignedCheckpoint
from caseledger.nodes.service.status import DOMAIN, status_of
from caseledger.nodes.service.witnessing import attached
from caseledger.v1 import audit_pb2, audit_pb2_grpc


def _abort(context: grpc.ServicerContext, code: int, reason: str, message: str) -> NoReturn:
    info = any_pb2.Any()
    info.Pack(error_details_pb2.ErrorInfo(reason=reason, domain=DOMAIN))
    context.abort_with_status(
        rpc_status.to_status(status_pb2.Status(code=code, message=message, details=[info]))
    )
    raise AssertionError("abort_with_status returns only by raising")


def _invalid(context: grpc.ServicerContext, field: str, reason: str) -> NoReturn:
    context.abort_with_status(status_of(InvalidInput.single(field, reason)))
    raise AssertionError("abort_with_status returns only by raising")


def _check_size(context: grpc.ServicerContext, field: str, value: int) -> None:
    if not 0 <= value <= limits.MAX_POSITION:
        _invalid(context, field, f"must be between 0 and {limits.MAX_POSITION}")


class AuditService(audit_pb2_grpc.AuditServiceServicer):
    def __init__(self, ledger: CaseLedger, checkpoints: Checkpoints | None) -> None:
        self._ledger = ledger
        self._checkpoints = checkpoints
        if checkpoints is not None:
            # The one place the signer and the node's ledger meet: a staged key
            # rotation is recorded in this ledger's log.
            checkpoints.records_rotations_in(ledger)

    def _signer(self, context: grpc.ServicerContext) -> Checkpoints:
        if self._checkpoints is None:
            _abort(
                context,
                code_pb2.FAILED_PRECONDITION,
                "NO_MERKLE_LOG",
                "this node's store keeps no Merkle log",
            )
        return self._checkpoints

    def _tree_size(self, context: grpc.ServicerContext, size: int) -> int:
        """`size`, or the tree's size for 0; OUT_OF_RANGE beyond the tree."""
        current = self._signer(context).tree_size()
        if size > current:
            _abort(
                context,
                code_pb2.OUT_OF_RANGE,
                "BEYOND_TREE",
                f"the tree has {current} leaves, not {size}",
            )
        return size or current

    def GetCheckpoint(
        self, request: audit_pb2.GetCheckpointRequest, context: grpc.ServicerContext
    ) -> audit_pb2.GetCheckpointResponse:
        _check_size(context, "size", request.size)
        signer = self._signer(context)
        signed: SignedCheckpoint
        try:
            if request.size:
                signed = signer.at(request.size)
            elif request.fresh:
                signed = signer.fresh()
            else:
                signed = signer.latest()
        except BeyondTree as error:
            _abort(context, code_pb2.OUT_OF_RANGE, "BEYOND_TREE", str(error))
        checkpoint = signed.checkpoint
        return audit_pb2.GetCheckpointResponse(
            note=signed.note,
            origin=checkpoint.origin,
            size=checkpoint.size,
            root_hash=checkpoint.root,
            verifier_key=signer.identity.verifier_key,
        )

    def GetInclusionProof(
        self, request: audit_pb2.GetInclusionProofRequest, context: grpc.ServicerContext
    ) -> audit_pb2.GetInclusionProofResponse:
        _check_size(context, "tree_size", request.tree_size)
        signer = self._signer(context)
        which = request.WhichOneof("leaf")
        if which == "position":
            position = request.position
            if position < 1:
                _invalid(context, "position", "log positions start at 1")
        elif which == "event":
            position = self._position_of(context, request.event)
        else:
            _invalid(context, "leaf", "name a log position or a case event")
        size = self._tree_size(context, request.tree_size)
        if position > size:
            _abort(
                context,
                code_pb2.OUT_OF_RANGE,
                "NOT_IN_TREE",
                f"position {position} is not in the tree of {size} leaves",
            )
        with signer.log.tree() as tree:
            path = merkle.inclusion_proof(tree, position - 1, size)
            leaf = tree.subtree(0, position - 1)
        return audit_pb2.GetInclusionProofResponse(
            position=position, leaf_index=position - 1, tree_size=size, leaf_hash=leaf, path=path
        )

    def _position_of(self, context: grpc.ServicerContext, event: audit_pb2.CaseEventRef) -> int:
        if event.version < 1:
            _invalid(context, "event.version", "versions start at 1")
        try:
            case_id = self._ledger.resolve(event.case)
        except LedgerError as error:
            context.abort_with_status(status_of(error))
            raise
        position = self._signer(context).log.position_of(case_id, event.version)
        if position is None:
            _abort(
                context,
                code_pb2.NOT_FOUND,
                "NOT_AUTHORED_HERE",
                f"this node's log holds no version {event.version} of case {event.case}",
            )
        return position

    def GetConsistencyProof(
        self, request: audit_pb2.GetConsistencyProofRequest, context: grpc.ServicerContext
    ) -> audit_pb2.GetConsistencyProofResponse:
        _check_size(context, "first", request.first)
        _check_size(context, "second", request.second)
        if request.first > request.second:
            _invalid(context, "first", "must not be larger than second")
        signer = self._signer(context)
        self._tree_size(context, request.second)
        with signer.log.tree() as tree:
            path = merkle.consistency_proof(tree, request.first, request.second)
        return audit_pb2.GetConsistencyProofResponse(
            first=request.first, second=request.second, path=path
        )

    def _witness(self, context: grpc.ServicerContext, node: str) -> Witness:
        if node:
            try:
                DivisionCode.parse(node, field="node")
            except InvalidInput as error:
                context.abort_with_status(status_of(error))
        attachment = attached(self._ledger)
        if attachment is None:
            _abort(
                context,
                code_pb2.FAILED_PRECONDITION,
                "NOT_A_WITNESS",
                "this node witnesses no one's checkpoints",
            )
        return attachment.witness.witness

    def GetWitnessed(
        self, request: audit_pb2.GetWitnessedRequest, context: grpc.ServicerContext
    ) -> audit_pb2.GetWitnessedResponse:
        witness = self._witness(context, request.node)
        store = witness.store
        if request.node:
            one = store.witnessed(request.node)
            records = [] if one is None else [one]
        else:
            records = store.all_witnessed()
        identity = witness.identity
        return audit_pb2.GetWitnessedResponse(
            checkpoints=[
                audit_pb2.WitnessedCheckpoint(
                    node=r.node,
                    size=r.size,
                    root_hash=r.root,
                    note=r.note,
                    witnessed_at=r.witnessed_at,
                )
                for r in records
            ],
            witness_key=cosignature_verifier_key(identity.name, identity.public),
        )

    def ListForks(
        self, request: audit_pb2.ListForksRequest, context: grpc.ServicerContext
    ) -> audit_pb2.ListForksResponse:
        witness = self._witness(context, request.node)
        return audit_pb2.ListForksResponse(
            forks=[
                audit_pb2.Fork(
                    node=f.node,
                    accepted_note=f.accepted_note,
                    conflicting_note=f.conflicting_note,
                    detail=f.detail,
                    detected_at=f.detected_at,
                )
                for f in witness.store.forks(request.node)
            ]
        )
