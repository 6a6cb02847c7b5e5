"""Certificate endpoints: the certificate of realisation and the month's attendance
certificate as PDF (issued on first request, recorded in the ledger), and the public check."""

from __future__ import annotations

import hashlib
from typing import Any

import marshmallow as ma
from flask import request

from certificates import rules, services
from certificates.web import issue_once, pdf_response, verify_limit
from core.api import Blueprint, ErrorSchema, ParisDateTime, image_doc
from core.auth import Principal, roles_required
from core.db import utcnow
from core.errors import InvalidInput
from core.models import Role

blp = Blueprint(
    "certificates", __name__, url_prefix="/api/v1", description="Certificats et vérification"
)

MONTH = ma.validate.Regexp(r"^(19\d\d|20\d\d|2100)-(0[1-9]|1[0-2])$")
SHA256 = ma.validate.Regexp(r"^[0-9a-fA-F]{64}$")


class MonthArgs(ma.Schema):
    month = ma.fields.String(required=True, validate=MONTH, metadata={"example": "2026-03"})


class VerifyArgs(ma.Schema):
    sha256 = ma.fields.String(
        load_default=None,
        validate=SHA256,
        metadata={"description": "SHA-256 of a file: is this exact file the certificate?"},
    )


class VerificationSchema(ma.Schema):
    id = ma.fields.String(metadata={"description": "The certificate's public short id"})
    valid = ma.fields.Boolean(
        metadata={"description": "Issued here and recorded intact in the signature ledger"}
    )
    sha256 = ma.fields.String(metadata={"description": "SHA-256 of the genuine PDF"})
    issued_at = ParisDateTime()
    trainee_initials = ma.fields.String()
    hours = ma.fields.Float(metadata={"description": "Hours realised that it certifies"})
    kind = ma.fields.String(metadata={"enum": list(rules.KINDS)})
    month = ma.fields.String(allow_none=True)
    superseded = ma.fields.Boolean()
    superseded_by = ma.fields.String(metadata={"description": "Short id of its replacement"})
    superseded_at = ParisDateTime(metadata={"description": "When its replacement was issued"})
    outdated = ma.fields.Boolean(
        metadata={
            "description": "The signatures were corrected since it was issued (R7): its "
            "sessions' chains now give other facts; ask the organisation for a new one"
        }
    )
    genuine = ma.fields.Boolean(
        metadata={"description": "With a file (or its sha256): that file is the certificate"}
    )


PDF_ANSWER = image_doc("application/pdf", "The certificate (PDF), the same file on every call")
NOTHING = "nothing_to_certify (no session held yet), certificate_busy"
PURGED = "certificate_purged: the order's personal data was purged (retention over)"
UPLOAD = {
    "requestBody": {
        "required": True,
        "content": {
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


@blp.route("/enrolments/<enrolment_id>/certificate.pdf", methods=["GET"])
@roles_required(Role.ORG_ADMIN, Role.TRAINEE)
@blp.doc(**PDF_ANSWER)
@blp.alt_response(409, schema=ErrorSchema, description=NOTHING)
@blp.alt_response(410, schema=ErrorSchema, description=PURGED)
def realisation_certificate(enrolment_id: str, principal: Principal) -> Any:
    """The certificate of realisation of an enrolment, from its chained signatures (R17)."""
    enrolment = services.get_enrolment(principal, enrolment_id)
    issued = issue_once(principal.id, enrolment, rules.REALISATION, "", utcnow())
    return pdf_response(issued.certificate)


@blp.route("/enrolments/<enrolment_id>/attendance-certificate.pdf", methods=["GET"])
@roles_required(Role.ORG_ADMIN, Role.TRAINEE)
@blp.arguments(MonthArgs, location="query")
@blp.doc(**PDF_ANSWER)
@blp.alt_response(409, schema=ErrorSchema, description=NOTHING)
@blp.alt_response(410, schema=ErrorSchema, description=PURGED)
def attendance_certificate(args: dict[str, Any], enrolment_id: str, principal: Principal) -> Any:
    """The attendance certificate of an enrolment for one month (Europe/Paris)."""
    enrolment = services.get_enrolment(principal, enrolment_id)
    issued = issue_once(principal.id, enrolment, rules.ATTENDANCE, args["month"], utcnow())
    return pdf_response(issued.certificate)


@blp.route("/certificates/<certificate_id>/verify", methods=["GET"])
@blp.arguments(VerifyArgs, location="query")
@blp.response(200, VerificationSchema)
@blp.alt_response(429, schema=ErrorSchema, description="too_many_attempts")
@verify_limit
def verify(args: dict[str, Any], certificate_id: str) -> Any:
    """Public: is this certificate genuine, superseded, for how many hours (and, with
    `?sha256=`, is that file the certificate)? Only the trainee's initials are said."""
    certificate = services.find_public(certificate_id)
    return services.verification(certificate, utcnow(), args["sha256"])


@blp.route("/certificates/<certificate_id>/verify", methods=["POST"])
@blp.doc(**UPLOAD)
@blp.response(200, VerificationSchema)
@blp.alt_response(429, schema=ErrorSchema, description="too_many_attempts")
@verify_limit
def verify_file(certificate_id: str) -> Any:
    """Public: send the PDF itself (as the body, or a form's `file`): is it the certificate?
    A file altered by one byte is not."""
    certificate = services.find_public(certificate_id)
    return services.verification(certificate, utcnow(), hashlib.sha256(uploaded()).hexdigest())


def uploaded() -> bytes:
    """The file sent: a form's `file`, or the body itself as application/pdf."""
    if request.mimetype == "multipart/form-data":
        file = request.files.get("file")
        if file is not None:
            return file.read()
    elif request.mimetype == "application/pdf":
        return request.get_data()
    raise InvalidInput(
        "Envoyez le PDF (application/pdf) ou un formulaire avec le champ « file ».",
        code="invalid_input",
    )
