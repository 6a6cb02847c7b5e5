"""What the help requests' API and pages share: telling the trainers, after the commit."""

from __future__ import annotations

from typing import Any

from flask import Response, url_for

from attendance.web import announce_help
from compliance import help as help_requests
from compliance.models import HelpRequest
from core.extensions import db
from core.models import Trainee


def tell_trainers(request: HelpRequest) -> None:
    """Push the request to the session's live page (the trainer's screen), after the commit:
    the request is recorded whether or not anyone is watching."""
    trainee = db.session.get(Trainee, request.trainee_id)
    name = trainee.full_name if trainee else ""
    url = url_for("attendance_pages.session", session_id=request.session_id, _anchor="aide")
    announce_help(request.session_id, help_requests.payload(request, name, url))


def file_response(request: HelpRequest) -> Response:
    """The joined file, as a download (never shown inline: it comes from a trainee)."""
    response = Response(request.file_content or b"", mimetype=request.file_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{request.file_name}"'
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def attachment_from(files: Any) -> help_requests.Attachment | None:
    """The file of a multipart form (`file`), read up to the limit plus one byte."""
    sent = files.get("file") if files else None
    if sent is None or not sent.filename:
        return None
    content = sent.read(help_requests.HELP_FILE_MAX_BYTES + 1)
    return help_requests.Attachment(sent.filename, sent.mimetype, content)
