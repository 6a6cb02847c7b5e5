"""Personal data pages: a trainee downloads their data in one click; the organisation records
and answers access and erasure requests and reads who consulted a trainee's record."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from markupsafe import Markup

from compliance import personal_data
from compliance.schemas import DataAnswerInSchema, DataRequestInSchema
from core.auth import Principal, roles_required
from core.clock import local_day
from core.db import utcnow
from core.errors import DomainError
from core.extensions import db
from core.forms import read_form
from core.models import Role, Trainee
from core.templating import template_constants
from training import services as training
from training.signals import trainee_page, trainee_read

bp = Blueprint("data_pages", __name__, template_folder="templates")
KIND_LABELS = {"access": "Accès à ses données", "erasure": "Effacement de ses données"}
template_constants(bp, data_request_labels=KIND_LABELS, answer_within=timedelta(days=30))


@trainee_read.connect
def log_read(trainee: Trainee, principal: Principal, what: str) -> None:
    """Every read of a trainee's record leaves a line for the data protection officer."""
    personal_data.log_read(trainee, principal, what, utcnow())


def download(data: dict[str, Any], fmt: str, name: str) -> Response:
    if fmt == "pdf":
        body, mimetype = personal_data.render_pdf(data), "application/pdf"
    else:
        body, mimetype = json.dumps(data, ensure_ascii=False, indent=2).encode(), "application/json"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/mes-donnees")
@roles_required(Role.TRAINEE)
def mine(principal: Principal) -> Any:
    """What the service holds about me, and the two downloads."""
    return render_template("my_data.html")


@bp.route("/mes-donnees.<any(json, pdf):fmt>")
@roles_required(Role.TRAINEE)
def my_download(fmt: str, principal: Principal) -> Any:
    _, data = personal_data.export(principal, principal.id, utcnow())
    return download(data, fmt, "mes-donnees")


def _trainee_page(principal: Principal, trainee: Trainee, error: DomainError | None = None) -> str:
    requests = [r for r in personal_data.list_requests(principal) if r.trainee_id == trainee.id]
    return render_template(
        "trainee_data.html",
        trainee=trainee,
        requests=requests,
        log=personal_data.access_log(principal, trainee.id),
        can_edit=principal.has_role(Role.ORG_ADMIN),
        today=local_day(utcnow()),
        error=error,
        values=request.form if error else {"received_on": local_day(utcnow()).isoformat()},
    )


@bp.route("/stagiaires/<trainee_id>/donnees")
@roles_required(Role.ORG_ADMIN, Role.REGION)
def trainee_data(trainee_id: str, principal: Principal) -> Any:
    """A trainee's personal data: requests, downloads, who read the record."""
    return _trainee_page(principal, training.get_trainee(principal, trainee_id))


@bp.route("/stagiaires/<trainee_id>/donnees.<any(json, pdf):fmt>")
@roles_required(Role.ORG_ADMIN)
def trainee_download(trainee_id: str, fmt: str, principal: Principal) -> Any:
    trainee, data = personal_data.export(principal, trainee_id, utcnow())
    return download(data, fmt, f"donnees-{trainee.id}")


@bp.route("/stagiaires/<trainee_id>/demandes", methods=["POST"])
@roles_required(Role.ORG_ADMIN)
def record_request(trainee_id: str, principal: Principal) -> Any:
    trainee = training.get_trainee(principal, trainee_id)
    try:
        data = read_form(DataRequestInSchema(), request.form)
        personal_data.record_request(principal, trainee.id, data, utcnow())
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        return _trainee_page(principal, trainee, exc), exc.status
    flash("Demande enregistrée : elle appelle une réponse sous un mois.", "success")
    return redirect(url_for(".trainee_data", trainee_id=trainee.id, _anchor="demandes"))


@bp.route("/stagiaires/<trainee_id>/demandes/<request_id>/reponse", methods=["POST"])
@roles_required(Role.ORG_ADMIN)
def answer_request(trainee_id: str, request_id: str, principal: Principal) -> Any:
    trainee = training.get_trainee(principal, trainee_id)
    try:
        data = read_form(DataAnswerInSchema(), request.form)
        answered = personal_data.answer_request(principal, request_id, data["note"], utcnow())
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        return _trainee_page(principal, trainee, exc), exc.status
    if answered.kind == personal_data.ERASURE and answered.erasure_scheduled_on:
        flash(
            "Réponse enregistrée : téléphone et appareils effacés ; le reste le sera le "
            f"{answered.erasure_scheduled_on:%d/%m/%Y}, à la fin de la conservation légale.",
            "success",
        )
    else:
        flash("Réponse enregistrée.", "success")
    return redirect(url_for(".trainee_data", trainee_id=trainee.id, _anchor="demandes"))


@bp.route("/donnees-personnelles")
@roles_required(Role.ORG_ADMIN, Role.REGION)
def requests(principal: Principal) -> Any:
    """Every access and erasure request, those past their month first."""
    found = personal_data.list_requests(principal)
    return render_template("data_requests.html", requests=found, today=local_day(utcnow()))


@trainee_page.connect
def data_section(trainee: Trainee, principal: Principal) -> Markup | None:
    if not principal.has_role(Role.ORG_ADMIN, Role.REGION):
        return None
    return Markup(  # noqa: S704 - a template of ours, escaped by Jinja
        render_template("_data_section.html", trainee=trainee)
    )
