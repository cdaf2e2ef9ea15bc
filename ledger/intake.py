"""Intake of a submission (收件): validate the applicant, then seal their data.

Identity numbers are checked against their standard before anything is
sealed: a natural person's against GB 11643, every other applicant type's
against GB 32100 (unified social credit code).
"""

from __future__ import annotations

from dataclasses import dataclass

from caseledger.ledger.case.aggregate import Applicant
from caseledger.ledger.codes.identifiers import CitizenId, CreditCode
from caseledger.ledger.codes.vocabulary import ApplicantType
from caseledger.ledger.errors import FieldViolation, InvalidInput
from caseledger.ledger.personal.sealing import SubjectKeys


@dataclass(frozen=True)
class ApplicantForm:
    """The applicant as typed in at the window or online, before sealing."""

    type: ApplicantType
    name: str
    id_number: str
    phone: str = ""
    address: str = ""


def _phone_fault(phone: str) -> str | None:
    digits = phone.replace("-", "").replace(" ", "")
    if not digits.isdigit() or not 7 <= len(digits) <= 13:
        return "must be 7 to 13 digits (a mobile or landline number)"
    return None


def identity_number(applicant_type: ApplicantType, text: str, field: str) -> str:
    """The canonical identity number: GB 11643 for a natural person, GB 32100 otherwise."""
    if applicant_type is ApplicantType.NATURAL_PERSON:
        return str(CitizenId.parse(text, field))
    return str(CreditCode.parse(text, field))


def seal_applicant(form: ApplicantForm, keys: SubjectKeys) -> Applicant:
    violations: list[FieldViolation] = []
    if not form.name.strip():
        violations.append(FieldViolation("applicant.name", "must not be empty"))
    try:
        id_number = identity_number(form.type, form.id_number, "applicant.id_number")
    except InvalidInput as error:
        violations.extend(error.violations)
        id_number = ""
    if form.phone and (fault := _phone_fault(form.phone)):
        violations.append(FieldViolation("applicant.phone", fault))
    if violations:
        raise InvalidInput(*violations)
    subject = keys.subject_of(id_number)
    fields = {"name": form.name.strip(), "id_number": id_number}
    if form.phone:
        fields["phone"] = form.phone
    if form.address:
        fields["address"] = form.address
    sealed = keys.seal_fields(subject, fields)  # the subject's key read once
    return Applicant(
        type=form.type,
        subject=subject,
        name=sealed["name"],
        id_number=sealed["id_number"],
        phone=sealed.get("phone"),
        address=sealed.get("address"),
    )
