"""Pages of the company periods (R2): the organisation records a period and its hours and
issues the tutor's code; the trainee signs their hours; the tutor signs with their code."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from markupsafe import Markup

from attendance import company
from attendance.company_schemas import HoursInSchema, PeriodInSchema
from attendance.models import CompanyHours, CompanyPeriod
from attendance.web import device, failed_tutor_codes, settings
from core.auth import Principal, roles_required
from core.db import utcnow
from core.errors import DomainError
from core.extensions import db
from core.forms import form_error, read_form
from core.models import Role
from training import services as training
from training.models import Group
from training.signals import group_page

bp = Blueprint("company_pages", __name__, template_folder="templates")
READERS = (Role.ORG_ADMIN, Role.FINANCE, Role.REGION, Role.TRAINER)
NO_STORE = {"Cache-Control": "no-store"}  # a page that shows or holds a personal code


@group_page.connect
def group_company_section(group: Group, principal: Principal) -> Markup:
    """On training's group page: each path's company periods, with a link to manage them."""
    if not principal.has_role(*READERS):
        return Markup("")
    enrolments = training.list_enrolments(principal, group.id)
    periods = {e.id: company.enrolment_periods(principal, e.id) for e in enrolments}
    return Markup(  # noqa: S704 - a template of ours, escaped by Jinja
        render_template("company/_group_section.html", enrolments=enrolments, periods=periods)
    )


@bp.route("/parcours/<enrolment_id>/entreprise", methods=["GET", "POST"])
@roles_required(*READERS)
def enrolment_periods(enrolment_id: str, principal: Principal) -> Any:
    """A path's company periods; the organisation's admin records a new one."""
    enrolment = company.get_enrolment(principal, enrolment_id)
    context = {
        "enrolment": enrolment,
        "periods": company.enrolment_periods(principal, enrolment.id),
        "can_edit": principal.has_role(Role.ORG_ADMIN),
    }
    if request.method == "GET":
        return render_template("company/periods.html", values={}, **context)
    try:
        period = company.create_period(
            principal, enrolment.id, read_form(PeriodInSchema(), request.form), utcnow()
        )
        db.session.commit()
    except DomainError as exc:
        return form_error("company/periods.html", exc, **context)
    flash(f"Période chez {period.company_name} enregistrée.", "success")
    return redirect(url_for("company_pages.period", period_id=period.id))


@bp.route("/entreprise/<period_id>", methods=["GET"])
@roles_required(*READERS)
def period(period_id: str, principal: Principal) -> Any:
    """A period: its hours, who signed them, what counts; forms for the admin."""
    return _period_page(principal, period_id)


def _period_page(principal: Principal, period_id: str, status: int = 200, **context: Any) -> Any:
    found = company.get_period(principal, period_id)
    context.setdefault("values", {})
    page = render_template(
        "company/period.html",
        period=found,
        can_edit=principal.has_role(Role.ORG_ADMIN),
        **context,
    )
    return page, status, NO_STORE if "issued" in context else {}


@bp.route("/entreprise/<period_id>/heures", methods=["POST"])
@roles_required(Role.ORG_ADMIN)
def record_hours(period_id: str, principal: Principal) -> Any:
    try:
        line = company.record_hours(
            principal, period_id, read_form(HoursInSchema(), request.form), utcnow()
        )
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        return _period_page(principal, period_id, exc.status, error=exc, values=request.form)
    flash(
        f"Heures du {line.first_day:%d/%m/%Y} au {line.last_day:%d/%m/%Y} enregistrées : "
        "elles attendent la signature du stagiaire et du tuteur.",
        "success",
    )
    return redirect(url_for("company_pages.period", period_id=period_id, _anchor="heures"))


@bp.route("/entreprise/heures/<hours_id>/retirer", methods=["POST"])
@roles_required(Role.ORG_ADMIN)
def withdraw_hours(hours_id: str, principal: Principal) -> Any:
    """Withdraw a line declared by mistake (until both signed it)."""
    try:
        line = company.withdraw_hours(principal, hours_id, utcnow())
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        if exc.status == 404:
            raise
        period_id = db.session.get_one(CompanyHours, hours_id).period_id
        return _period_page(principal, period_id, exc.status, error=exc)
    flash(f"Heures du {line.first_day:%d/%m/%Y} au {line.last_day:%d/%m/%Y} retirées.", "success")
    return redirect(url_for("company_pages.period", period_id=line.period_id, _anchor="heures"))


@bp.route("/entreprise/<period_id>/code-tuteur", methods=["POST"])
@roles_required(Role.ORG_ADMIN)
def tutor_code(period_id: str, principal: Principal) -> Any:
    """Issue the tutor's code and show it once (to hand or send to the tutor)."""
    issued = company.issue_tutor_code(principal, period_id, utcnow(), settings())
    db.session.commit()
    return _period_page(principal, period_id, issued=issued)


# --- The trainee ---


@bp.route("/mes-heures-entreprise", methods=["GET"])
@roles_required(Role.TRAINEE)
def mine(principal: Principal) -> Any:
    return render_template("company/mine.html", periods=company.trainee_periods(principal))


@bp.route("/mes-heures-entreprise/<hours_id>/signer", methods=["POST"])
@roles_required(Role.TRAINEE)
def trainee_sign(hours_id: str, principal: Principal) -> Any:
    signed = company.sign_as_trainee(principal, hours_id, utcnow(), device())
    db.session.commit()
    line = signed.lines[0]
    when = f"du {line.first_day:%d/%m/%Y} au {line.last_day:%d/%m/%Y}"
    if signed.created:
        flash(f"Vous avez signé vos heures {when}.", "success")
    else:
        flash(f"Vos heures {when} étaient déjà signées.", "info")
    return redirect(url_for("company_pages.mine", _anchor=f"h-{line.id}"))


# --- The tutor (no account: a personal code) ---


@bp.route("/tuteur", methods=["GET"])
def tutor() -> Any:
    return render_template("company/tutor.html")


@bp.route("/tuteur", methods=["POST"])
@failed_tutor_codes
def tutor_submit() -> Any:
    """Step 1 shows the period's hours for the code typed; step 2 (`sign`) signs those shown."""
    code = request.form.get("code", "")
    try:
        if request.form.get("step") == "sign":
            ids = request.form.getlist("hours_id")
            signed = company.sign_as_tutor(code, ids, utcnow(), device(), settings())
            db.session.commit()
            period = db.session.get_one(CompanyPeriod, signed.lines[0].period_id)
            summary = company.tutor_summary(period)
            return render_template("company/tutor.html", signed=signed, summary=summary)
        found, _ = company.tutor_view(code, utcnow(), settings())
    except DomainError as exc:
        db.session.rollback()
        return render_template("company/tutor.html", error=exc), exc.status
    summary = company.tutor_summary(found)
    page = render_template("company/tutor.html", summary=summary, code=code)
    return page, 200, NO_STORE
