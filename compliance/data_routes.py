"""Personal data (GDPR) in the API: a trainee's own data (`GET /api/v1/me/data`), the
organisation's access and erasure requests, who read a trainee's record."""

from __future__ import annotations

from typing import Any

from flask import Response

from compliance import personal_data
from compliance.schemas import (
    AccessSchema,
    DataAnswerInSchema,
    DataFormatArgs,
    DataRequestInSchema,
    DataRequestSchema,
)
from core.api import Blueprint, ErrorSchema, page_schema
from core.auth import Principal, roles_required
from core.db import utcnow
from core.extensions import db
from core.models import Role

blp = Blueprint(
    "personal_data", __name__, url_prefix="/api/v1", description="Données personnelles (RGPD)"
)
FILE = {"type": "string", "format": "binary"}


def data_response(data: dict[str, Any], fmt: str) -> Any:
    """The data as JSON, or as the readable PDF to download."""
    if fmt == "json":
        return data
    response = Response(personal_data.render_pdf(data), mimetype="application/pdf")
    response.headers["Content-Disposition"] = 'attachment; filename="mes-donnees.pdf"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@blp.route("/me/data", methods=["GET"])
@roles_required(Role.TRAINEE)
@blp.arguments(DataFormatArgs, location="query")
@blp.response(200, description="JSON, or `?format=pdf` a readable PDF")
def my_data(args: dict[str, Any], principal: Principal) -> Any:
    """Everything the service holds about the caller (GDPR art. 15 and 20)."""
    _, data = personal_data.export(principal, principal.id, utcnow())
    return data_response(data, args["format"])


@blp.route("/trainees/<trainee_id>/personal-data", methods=["GET"])
@roles_required(Role.ORG_ADMIN)
@blp.arguments(DataFormatArgs, location="query")
@blp.response(200, description="JSON, or `?format=pdf` a readable PDF")
def trainee_data(args: dict[str, Any], trainee_id: str, principal: Principal) -> Any:
    """A trainee's data, for the organisation answering their access request (logged)."""
    _, data = personal_data.export(principal, trainee_id, utcnow())
    return data_response(data, args["format"])


@blp.route("/trainees/<trainee_id>/data-requests", methods=["POST"])
@roles_required(Role.ORG_ADMIN)
@blp.arguments(DataRequestInSchema)
@blp.response(201, DataRequestSchema)
def record_request(data: dict[str, Any], trainee_id: str, principal: Principal) -> Any:
    """Record a trainee's access or erasure request: it is answered within a month."""
    request = personal_data.record_request(principal, trainee_id, data, utcnow())
    db.session.commit()
    return request


@blp.route("/data-requests/<request_id>/answer", methods=["POST"])
@roles_required(Role.ORG_ADMIN)
@blp.arguments(DataAnswerInSchema)
@blp.response(200, DataRequestSchema)
@blp.alt_response(409, schema=ErrorSchema, description="request_answered")
def answer_request(data: dict[str, Any], request_id: str, principal: Principal) -> Any:
    """Answer a request: access, with the export; erasure, by erasing now what no law keeps
    (phone, bound devices) and scheduling the rest for the end of the retention period."""
    request = personal_data.answer_request(principal, request_id, data["note"], utcnow())
    db.session.commit()
    return request


@blp.route("/data-requests", methods=["GET"])
@roles_required(Role.ORG_ADMIN, Role.REGION)
@blp.response(200, page_schema(DataRequestSchema, "DataRequestList"))
def list_requests(principal: Principal) -> Any:
    """The access and erasure requests, the latest received first (500 at most)."""
    return {"items": personal_data.list_requests(principal), "next_cursor": None}


@blp.route("/trainees/<trainee_id>/access-log", methods=["GET"])
@roles_required(Role.ORG_ADMIN, Role.REGION)
@blp.response(200, page_schema(AccessSchema, "AccessLog"))
def access_log(trainee_id: str, principal: Principal) -> Any:
    """Who read the trainee's record, when and what (for the data protection officer)."""
    items = [
        {
            "at": access.at,
            "reader_id": access.reader_id,
            "reader_name": name,
            "reader_role": access.reader_role,
            "what": access.what,
        }
        for access, name in personal_data.access_log(principal, trainee_id)
    ]
    return {"items": items, "next_cursor": None}
