"""The help pages (R8): the trainee asks from their session's page, the trainer answers from
the session's page, the organisation and the Région follow the requests and the flags."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from markupsafe import Markup

from attendance.models import TrainingSession
from attendance.signals import session_sheet
from compliance import help as help_requests
from compliance import help_web, rules
from compliance.schemas import AnswerInSchema, HelpInSchema
from core.auth import Principal, roles_required
from core.db import utcnow
from core.errors import DomainError
from core.extensions import db
from core.forms import read_form
from core.models import Role
from core.templating import template_constants

bp = Blueprint("help_pages", __name__, template_folder="templates")
template_constants(bp, help_delay=rules.delay_text, help_overdue=rules.help_overdue)


@session_sheet.connect
def help_section(session: TrainingSession, now: datetime, principal: Principal) -> Markup | None:
    """The help requests of the session: the trainee's own with the form (autoformation), the
    staff's list with the answer form for the session's trainers."""
    if session.kind != "autoformation":
        return None
    if not principal.has_role(Role.TRAINEE, Role.TRAINER, Role.ORG_ADMIN, Role.REGION):
        return None
    requests = help_requests.session_requests(principal, session.id)
    return Markup(  # noqa: S704 - a template of ours, escaped by Jinja
        render_template(
            "_help_section.html",
            session=session,
            requests=requests,
            can_ask=principal.is_trainee and session.is_open(),
            can_answer=principal.has_role(Role.TRAINER) and session.is_run_by(principal.id),
            now=now,
        )
    )


@bp.route("/mes-seances/<session_id>/aide", methods=["POST"])
@roles_required(Role.TRAINEE)
def ask(session_id: str, principal: Principal) -> Any:
    request.max_content_length = help_requests.HELP_FILE_MAX_BYTES + 64 * 1024
    try:
        data = read_form(HelpInSchema(), request.form)
        attachment = help_web.attachment_from(request.files)
        asked = help_requests.ask(
            principal,
            session_id,
            data["text"],
            utcnow(),
            current_app.config["PUBLIC_BASE_URL"],
            attachment,
        )
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(f"Demande non envoyée : {exc.message}", "error")
        return redirect(
            url_for("attendance_pages.my_session", session_id=session_id, _anchor="aide")
        )
    help_web.tell_trainers(asked)
    flash("Votre demande est envoyée : le formateur est prévenu et vous répond ici.", "success")
    return redirect(url_for("attendance_pages.my_session", session_id=session_id, _anchor="aide"))


@bp.route("/aide/<request_id>/fichier")
@roles_required(Role.TRAINEE, Role.TRAINER, Role.ORG_ADMIN, Role.REGION)
def attachment(request_id: str, principal: Principal) -> Any:
    return help_web.file_response(help_requests.attachment_of(principal, request_id))


@bp.route("/aide/<request_id>/reponse", methods=["POST"])
@roles_required(Role.TRAINER)
def answer(request_id: str, principal: Principal) -> Any:
    found = help_requests.get_request(principal, request_id)
    try:
        data = read_form(AnswerInSchema(), request.form)
        help_requests.answer(principal, found.id, data["text"], utcnow())
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(f"Réponse non enregistrée : {exc.message}", "error")
    else:
        flash("Réponse enregistrée : le stagiaire la voit sur sa séance.", "success")
    return redirect(
        url_for("attendance_pages.session", session_id=found.session_id, _anchor="aide")
    )


@bp.route("/aide")
@roles_required(Role.ORG_ADMIN, Role.REGION)
def follow(principal: Principal) -> Any:
    """The requests for help: those R8 flags first, then the latest."""
    now = utcnow()
    return render_template(
        "help_requests.html",
        overdue=help_requests.requests_of(principal, status="flagged", now=now),
        latest=help_requests.requests_of(principal, status=None, now=now, limit=50),
        now=now,
    )
