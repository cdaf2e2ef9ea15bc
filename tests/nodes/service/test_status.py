"""Every ledger error has its own status: none falls through to UNKNOWN or INTERNAL."""

from __future__ import annotations

import grpc

from caseledger.ledger import errors
from caseledger.ledger.audit.log import LogGap
from caseledger.ledger.trail.received import TrailBroken
from caseledger.nodes.service import status


def _all_subclasses(cls: type[errors.LedgerError]) -> set[type[errors.LedgerError]]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= _all_subclasses(sub)
    return found


def test_every_ledger_error_has_a_status_of_its_own() -> None:
    samples: dict[type[errors.LedgerError], errors.LedgerError] = {
        errors.InvalidInput: errors.InvalidInput.single("case", "must be set"),
        errors.IllegalTransition: errors.IllegalTransition("accept", "concluded", "no"),
        errors.CaseNotFound: errors.CaseNotFound("c"),
        errors.ItemNotFound: errors.ItemNotFound("i"),
        errors.SubjectNotFound: errors.SubjectNotFound("s"),
        errors.RequestReused: errors.RequestReused("r"),
        errors.CaseExists: errors.CaseExists("c"),
        errors.VersionConflict: errors.VersionConflict("c", 1, 2),
        errors.NotOwner: errors.NotOwner("c", "a", "b"),
        errors.UnreadableEvent: errors.UnreadableEvent("n", "why"),
        errors.UnknownEventName: errors.UnknownEventName("n"),
        TrailBroken: TrailBroken("source", "case", 3, "why"),
        errors.TrailDamaged: errors.TrailDamaged("case", 3, errors.TrailDamaged.MISSING, "gone"),
        LogGap: LogGap(7, 5),
    }
    assert _all_subclasses(errors.LedgerError) <= set(samples)
    for error in samples.values():
        assert status.status_of(error).code not in (
            grpc.StatusCode.UNKNOWN,
            grpc.StatusCode.INTERNAL,
        ), error


def test_an_unknown_event_name_is_data_loss_as_an_unreadable_event() -> None:
    assert status.status_of(errors.UnknownEventName("x")).code is grpc.StatusCode.DATA_LOSS
