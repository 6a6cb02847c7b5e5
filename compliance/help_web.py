"""What the help requests' API and pages share: telling the trainers, after the commit."""

from __future__ import annotations

from flask import url_for

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
