"""Pages of the virtual class: the class itself (trainer and trainees), file upload and
download, and the trainer's external conference link. The class's live part runs over the
Socket.IO namespace `/class` (virtualclass.events)."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from attendance.models import SessionKind
from attendance.services import get_session
from core.auth import Principal, roles_required
from core.errors import DomainError, InvalidInput
from core.extensions import db, socketio
from core.models import Role
from virtualclass import services
from virtualclass.events import NAMESPACE, room
from virtualclass.rules import size_label

bp = Blueprint(
    "class_pages",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/classe/static",
)
PEOPLE = (Role.TRAINER, Role.TRAINEE)


@bp.route("/classe/<session_id>")
@roles_required(*PEOPLE)
def classroom(session_id: str, principal: Principal) -> Any:
    """The class of a session: live when open, else what it is waiting for or what stayed."""
    seat = services.seat_of(principal, session_id)
    session = get_session(principal, session_id)
    room_settings = db.session.get(services.ClassRoom, session.id)
    return render_template(
        "virtualclass/class.html",
        session=session,
        seat=seat,
        synchronous=session.kind != SessionKind.AUTOFORMATION,
        files=services.files(session.id),
        conference_url=room_settings.conference_url if room_settings else None,
        max_file=size_label(current_app.config["CLASS_FILE_MAX_BYTES"]),
        namespace=NAMESPACE,
    )


@bp.route("/classe/<session_id>/fichiers", methods=["POST"])
@roles_required(*PEOPLE)
def upload(session_id: str, principal: Principal) -> Any:
    """Share a file with the class (R16): announced in the room, for its participants only."""
    request.max_content_length = current_app.config["CLASS_FILE_MAX_BYTES"] + 64 * 1024
    wants_json = request.accept_mimetypes.best == "application/json"
    try:
        seat = services.seat_of(principal, session_id)
        get_open = get_session(principal, session_id)
        if not get_open.is_open():
            raise InvalidInput(
                "La classe est close : plus de partage de fichiers.", code="session_not_open"
            )
        sent = request.files.get("file")
        if sent is None or not sent.filename:
            raise InvalidInput("Choisissez un fichier.", code="file_required")
        row = services.share_file(
            seat,
            sent.filename,
            sent.mimetype,
            sent.read(current_app.config["CLASS_FILE_MAX_BYTES"] + 1),
            current_app.config["CLASS_FILE_MAX_BYTES"],
        )
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        if wants_json:
            return jsonify(error.body()), error.status
        flash(error.message, "error")
        return redirect(url_for(".classroom", session_id=session_id))
    notice = {"session_id": session_id, **services.file_notice(row)}
    socketio.emit("file", notice, namespace=NAMESPACE, to=room(session_id))
    if wants_json:
        return jsonify(notice), 201
    flash(f"Fichier « {row.name} » partagé avec la classe.", "success")
    return redirect(url_for(".classroom", session_id=session_id))


@bp.route("/classe/fichiers/<file_id>")
@roles_required(*PEOPLE)
def download(file_id: str, principal: Principal) -> Response:
    """A shared file, for the session's participants only (anyone else: 404)."""
    row = services.get_file(principal, file_id)
    answer = Response(row.content, mimetype=row.content_type)
    answer.headers["Content-Disposition"] = _attachment(row.name)
    answer.headers["X-Content-Type-Options"] = "nosniff"
    answer.headers["Cache-Control"] = "private, no-store"
    return answer


@bp.route("/classe/<session_id>/lien", methods=["POST"])
@roles_required(Role.TRAINER)
def conference_link(session_id: str, principal: Principal) -> Any:
    """The trainer names (or removes) an external conference link for the session."""
    try:
        services.set_conference_url(principal, session_id, request.form.get("conference_url"))
        db.session.commit()
    except InvalidInput as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        flash("Lien de visioconférence enregistré.", "success")
    return redirect(url_for(".classroom", session_id=session_id))


def _attachment(name: str) -> str:
    from urllib.parse import quote

    ascii_name = name.encode("ascii", "replace").decode().replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
