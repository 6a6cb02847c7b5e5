"""The follow-up pages: the situations due at exit, 3 and 6 months (R23), a trainee's
follow-up with the equipment lent against a capped deposit (R24)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from markupsafe import Markup

from compliance import followup, rules
from compliance.schemas import LoanInSchema, OutcomeFormSchema, ReturnInSchema
from core.auth import Principal, roles_required
from core.clock import local_day
from core.db import utcnow
from core.errors import DomainError
from core.extensions import db
from core.forms import read_form
from core.models import Role, Trainee
from core.templating import template_constants
from training import services as training
from training.signals import trainee_page

bp = Blueprint("followup_pages", __name__, template_folder="templates")
MILESTONE_LABELS = {
    rules.EXIT: "À la sortie",
    rules.THREE_MONTHS: "À 3 mois",
    rules.SIX_MONTHS: "À 6 mois",
}
SITUATION_LABELS = {
    "employment": "En emploi",
    "training": "En formation",
    "job_search": "En recherche d'emploi",
    "other": "Autre situation",
}
EMPLOYMENT_LABELS = {
    "cdi": "CDI",
    "cdd_6_months_plus": "CDD de 6 mois ou plus",
    "cdd_short": "CDD de moins de 6 mois",
    "interim": "Intérim",
    "work_study": "Alternance",
    "business": "Création d'entreprise",
}
template_constants(
    bp,
    milestone_labels=MILESTONE_LABELS,
    situation_labels=SITUATION_LABELS,
    employment_labels=EMPLOYMENT_LABELS,
    max_deposit=rules.MAX_DEPOSIT_EUR,
)


@bp.route("/suivi")
@roles_required(*followup.READERS)
def due(principal: Principal) -> Any:
    """R23's reminders: the situations due and not recorded, the oldest first."""
    today = local_day(utcnow())
    return render_template("followup_due.html", due=followup.outcomes_due(principal, today))


def _followup_page(
    principal: Principal, trainee: Trainee, error: DomainError | None = None, form: str = ""
) -> str:
    paths = []
    for enrolment in training.list_trainee_enrolments(principal, trainee.id):
        _, outcomes = followup.enrolment_outcomes(principal, enrolment.id)
        paths.append((enrolment, followup.exit_day(enrolment), {o.milestone: o for o in outcomes}))
    return render_template(
        "followup_trainee.html",
        trainee=trainee,
        paths=paths,
        loans=followup.trainee_loans(principal, trainee.id),
        outstanding=followup.outstanding_deposits(trainee.id),
        can_edit=principal.has_role(Role.ORG_ADMIN),
        today=local_day(utcnow()),
        error=error,
        failed_form=form,
        values=request.form if error else {},
    )


@bp.route("/stagiaires/<trainee_id>/suivi")
@roles_required(*followup.READERS)
def trainee_followup(trainee_id: str, principal: Principal) -> Any:
    trainee = training.get_trainee(principal, trainee_id)
    return _followup_page(principal, trainee)


@bp.route("/parcours/<enrolment_id>/situation", methods=["POST"])
@roles_required(Role.ORG_ADMIN)
def record_outcome(enrolment_id: str, principal: Principal) -> Any:
    enrolment = training.get_enrolment(principal, enrolment_id)
    try:
        data = read_form(OutcomeFormSchema(), request.form)
        now = utcnow()
        followup.record_outcome(principal, enrolment.id, data, now, local_day(now))
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        page = _followup_page(principal, enrolment.trainee, exc, f"situation-{enrolment.id}")
        return page, exc.status
    flash(f"Situation {MILESTONE_LABELS[data['milestone']].lower()} enregistrée.", "success")
    return redirect(url_for(".trainee_followup", trainee_id=enrolment.trainee_id))


@bp.route("/stagiaires/<trainee_id>/materiel", methods=["POST"])
@roles_required(Role.ORG_ADMIN)
def lend(trainee_id: str, principal: Principal) -> Any:
    trainee = training.get_trainee(principal, trainee_id)
    try:
        data = read_form(LoanInSchema(), request.form)
        loan = followup.lend(principal, trainee.id, data)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        return _followup_page(principal, trainee, exc, "materiel"), exc.status
    flash(f"Prêt enregistré : {loan.item}.", "success")
    return redirect(url_for(".trainee_followup", trainee_id=trainee.id, _anchor="materiel"))


@bp.route("/stagiaires/<trainee_id>/materiel/<loan_id>/retour", methods=["POST"])
@roles_required(Role.ORG_ADMIN)
def give_back(trainee_id: str, loan_id: str, principal: Principal) -> Any:
    trainee = training.get_trainee(principal, trainee_id)
    try:
        data = read_form(ReturnInSchema(), request.form)
        loan = followup.give_back(principal, loan_id, data["returned_on"], trainee.id)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        return _followup_page(principal, trainee, exc, f"retour-{loan_id}"), exc.status
    flash(f"Retour enregistré : {loan.item} ; le dépôt de garantie est rendu.", "success")
    return redirect(url_for(".trainee_followup", trainee_id=loan.trainee_id, _anchor="materiel"))


@trainee_page.connect
def followup_section(trainee: Trainee, principal: Principal) -> Markup | None:
    """A link to the trainee's follow-up, on training's trainee page."""
    if not principal.has_role(*followup.READERS):
        return None
    return Markup(  # noqa: S704 - a template of ours, escaped by Jinja
        render_template("_followup_section.html", trainee=trainee)
    )
