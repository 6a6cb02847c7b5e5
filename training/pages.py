"""Browser pages of training data: orders, groups, enrolments, trainees and their invitations.

Each page reads through the same services as the API (same access rules, same domain rules):
parse the form, call one service, commit, redirect with a message; or show the form again
with the refusal and the typed values.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from core import services as accounts
from core.auth import Principal, roles_required
from core.db import utcnow
from core.errors import DomainError
from core.extensions import db
from core.forms import form_error, read_form
from core.models import Role
from core.templating import template_constants
from training import services
from training.models import Group, Order
from training.rules import DEPARTMENTS
from training.schemas import EnrolmentInSchema, GroupInSchema, OrderInSchema, TraineeInSchema
from training.signals import group_page, sections, trainee_page, trainee_read

bp = Blueprint("training_pages", __name__, template_folder="templates")

VIEWERS = (Role.ORG_ADMIN, Role.FINANCE, Role.REGION)  # finance and Région read only
MODALITY_LABELS = {
    "e_formation": "Occitanie e-formation (à distance)",
    "hybride": "Hybride (surtout en centre)",
    "presentiel": "Présentiel",
}


template_constants(
    bp,
    modality_labels=MODALITY_LABELS,
    department_options=[(code, f"{code} — {name}") for code, name in DEPARTMENTS.items()],
    department_names=DEPARTMENTS,
)


# Orders


@bp.route("/commandes")
@roles_required(*VIEWERS)
def orders(principal: Principal) -> Any:
    can_create = principal.has_role(Role.ORG_ADMIN)
    return render_template(
        "orders.html", orders=services.list_orders(principal), can_create=can_create
    )


@bp.route("/commandes/nouvelle", methods=["GET", "POST"])
@roles_required(Role.ORG_ADMIN)
def new_order(principal: Principal) -> Any:
    if request.method == "GET":
        return render_template("order_form.html", order=None, values={})
    try:
        order = services.create_order(principal, _order_form())
        db.session.commit()
    except DomainError as exc:
        return form_error("order_form.html", exc, order=None)
    flash(f"Le bon de commande {order.number} est enregistré.", "success")
    return redirect(url_for(".order", order_id=order.id))


@bp.route("/commandes/<order_id>")
@roles_required(*VIEWERS)
def order(order_id: str, principal: Principal) -> Any:
    record = services.get_order(principal, order_id)
    groups = services.list_groups(principal, record.id)
    return render_template(
        "order.html",
        order=record,
        groups=groups,
        counts=services.enrolment_counts([g.id for g in groups]),
        can_edit=services.can_administer(principal, record.organisation_id),
    )


@bp.route("/commandes/<order_id>/modifier", methods=["GET", "POST"])
@roles_required(Role.ORG_ADMIN)
def edit_order(order_id: str, principal: Principal) -> Any:
    record = services.get_order(principal, order_id)
    if request.method == "GET":
        return render_template("order_form.html", order=record, values=_order_values(record))
    try:
        services.update_order(principal, record.id, _order_form())
        db.session.commit()
    except DomainError as exc:
        return form_error("order_form.html", exc, order=record)
    flash(f"Le bon de commande {record.number} est modifié.", "success")
    return redirect(url_for(".order", order_id=record.id))


def _order_form() -> dict[str, Any]:
    """The order form, with the synchronous share typed as a percentage."""
    form = request.form.to_dict()
    share = form.get("min_synchronous_share", "").replace(",", ".").strip()
    with suppress(ValueError):  # when not a number, the schema names the field
        form["min_synchronous_share"] = str(float(share) / 100) if share else ""
    return read_form(OrderInSchema(), form)


def _order_values(order: Order) -> dict[str, Any]:
    return {
        "number": order.number,
        "title": order.title,
        "modality": order.modality,
        "start_date": order.start_date.isoformat(),
        "end_date": order.end_date.isoformat(),
        "centre_hours": f"{order.centre_hours:g}",
        "min_synchronous_share": f"{order.min_synchronous_share * 100:g}",
        "forecast_headcount": order.forecast_headcount or "",
        "department": order.department or "",
    }


# Groups


@bp.route("/commandes/<order_id>/groupes/nouveau", methods=["GET", "POST"])
@roles_required(Role.ORG_ADMIN)
def new_group(order_id: str, principal: Principal) -> Any:
    record = services.get_order(principal, order_id)
    trainers = services.organisation_trainers(principal)
    context = {"order": record, "group": None, "trainers": trainers}
    if request.method == "GET":
        return render_template("group_form.html", values=MultiDict(), **context)
    try:
        data = read_form(GroupInSchema(), request.form, lists=["trainer_ids"])
        group = services.create_group(principal, record.id, data)
        db.session.commit()
    except DomainError as exc:
        return form_error("group_form.html", exc, **context)
    flash(f"Le groupe « {group.name} » est créé.", "success")
    return redirect(url_for(".group", group_id=group.id))


@bp.route("/groupes/<group_id>/modifier", methods=["GET", "POST"])
@roles_required(Role.ORG_ADMIN)
def edit_group(group_id: str, principal: Principal) -> Any:
    group = services.get_group(principal, group_id)
    context = {
        "order": group.order,
        "group": group,
        "trainers": services.organisation_trainers(principal),
    }
    if request.method == "GET":
        return render_template("group_form.html", values=_group_values(group), **context)
    try:
        data = read_form(GroupInSchema(), request.form, lists=["trainer_ids"])
        services.update_group(principal, group.id, data)
        db.session.commit()
    except DomainError as exc:
        return form_error("group_form.html", exc, **context)
    flash(f"Le groupe « {group.name} » est modifié.", "success")
    return redirect(url_for(".group", group_id=group.id))


def _group_values(group: Group) -> MultiDict:
    values = MultiDict({"name": group.name, "component": group.component})
    values["start_date"] = group.start_date.isoformat() if group.start_date else ""
    for trainer_id in group.trainer_ids:
        values.add("trainer_ids", trainer_id)
    return values


@bp.route("/groupes/<group_id>")
@roles_required(*VIEWERS, Role.TRAINER)
def group(group_id: str, principal: Principal) -> Any:
    return _group_page(principal, services.get_group(principal, group_id))


@bp.route("/groupes/<group_id>/inscriptions", methods=["POST"])
@roles_required(Role.ORG_ADMIN)
def enrol(group_id: str, principal: Principal) -> Any:
    """Enrol a trainee; R1–R4 refusals come back next to the form (R3 can be confirmed)."""
    group = services.get_group(principal, group_id)
    try:
        data = read_form(EnrolmentInSchema(), request.form)
        enrolment = services.enrol(principal, group.id, data)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        return _group_page(principal, group, error=exc, values=request.form), exc.status
    flash(f"{enrolment.trainee.full_name} est inscrit·e dans le groupe.", "success")
    return redirect(url_for(".group", group_id=group.id, _anchor="inscrits"))


def _group_page(
    principal: Principal,
    group: Group,
    error: DomainError | None = None,
    values: Any = None,
) -> str:
    enrolments = services.list_enrolments(principal, group.id)
    admin = services.can_administer(principal, group.organisation_id)
    return render_template(
        "group.html",
        group=group,
        enrolments=enrolments,
        sections=sections(group_page, group, principal=principal),
        candidates=_candidates(principal, enrolments) if admin else [],
        can_edit=admin,
        error=error,
        values=values or {"entry_date": group.first_day.isoformat()},
    )


def _candidates(principal: Principal, enrolments: list[Any]) -> list[tuple[str, str]]:
    """(id, name) of the organisation's trainees not yet in the group, for the enrol form."""
    enrolled = {e.trainee_id for e in enrolments}
    trainees = services.list_trainees(principal)
    return [(t.id, f"{t.last_name} {t.first_name}") for t in trainees if t.id not in enrolled]


# Trainees and their phones


@bp.route("/stagiaires")
@roles_required(*VIEWERS)
def trainees(principal: Principal) -> Any:
    return render_template(
        "trainees.html",
        trainees=services.list_trainees(principal),
        can_create=principal.has_role(Role.ORG_ADMIN),
    )


@bp.route("/stagiaires/nouveau", methods=["GET", "POST"])
@roles_required(Role.ORG_ADMIN)
def new_trainee(principal: Principal) -> Any:
    if request.method == "GET":
        return render_template("trainee_form.html", trainee=None, values={})
    try:
        trainee = services.create_trainee(principal, read_form(TraineeInSchema(), request.form))
        db.session.commit()
    except DomainError as exc:
        return form_error("trainee_form.html", exc, trainee=None)
    flash(f"{trainee.full_name} est enregistré·e.", "success")
    return redirect(url_for(".trainee", trainee_id=trainee.id))


@bp.route("/stagiaires/<trainee_id>")
@roles_required(*VIEWERS)
def trainee(trainee_id: str, principal: Principal) -> Any:
    record = services.get_trainee(principal, trainee_id)
    admin = services.can_administer(principal, record.organisation_id)
    trainee_read.send(record, principal=principal, what="fiche")
    return render_template(
        "trainee.html",
        trainee=record,
        enrolments=services.list_trainee_enrolments(principal, record.id),
        invitations=services.list_invitations(principal, record.id) if admin else [],
        can_edit=admin,
        now=utcnow(),
        sections=sections(trainee_page, record, principal=principal),
    )


@bp.route("/stagiaires/<trainee_id>/modifier", methods=["GET", "POST"])
@roles_required(Role.ORG_ADMIN)
def edit_trainee(trainee_id: str, principal: Principal) -> Any:
    record = services.get_trainee(principal, trainee_id)
    if request.method == "GET":
        fields = ("first_name", "last_name", "email", "phone")
        values = {name: getattr(record, name) or "" for name in fields}
        return render_template("trainee_form.html", trainee=record, values=values)
    try:
        services.update_trainee(principal, record.id, read_form(TraineeInSchema(), request.form))
        db.session.commit()
    except DomainError as exc:
        return form_error("trainee_form.html", exc, trainee=record)
    flash(f"La fiche de {record.full_name} est modifiée.", "success")
    return redirect(url_for(".trainee", trainee_id=record.id))


@bp.route("/stagiaires/<trainee_id>/invitations", methods=["POST"])
@roles_required(Role.ORG_ADMIN)
def invite_trainee(trainee_id: str, principal: Principal) -> Any:
    """Show the new personal link and code once: they are never stored nor shown again."""
    cfg = current_app.config
    issued = services.invite_trainee(
        principal,
        trainee_id,
        now=utcnow(),
        ttl_s=cfg["INVITATION_TTL_S"],
        secret_key=cfg["SECRET_KEY"],
    )
    db.session.commit()
    page = render_template(
        "invitation_issued.html",
        trainee=services.get_trainee(principal, trainee_id),
        code=issued.code,
        url=f"{cfg['PUBLIC_BASE_URL']}/invitation#{issued.code}",
        expires_at=issued.invitation.expires_at,
    )
    return page, 200, {"Cache-Control": "no-store"}


@bp.route("/invitations/<invitation_id>/retrait", methods=["POST"])
@roles_required(Role.ORG_ADMIN)
def revoke_invitation(invitation_id: str, principal: Principal) -> Any:
    """Unbind a trainee's phone (lost, changed): it cannot sign any more."""
    invitation = accounts.revoke_invitation(principal, invitation_id, now=utcnow())
    db.session.commit()
    flash("Ce téléphone est retiré : il ne peut plus émarger.", "success")
    return redirect(url_for(".trainee", trainee_id=invitation.trainee_id, _anchor="telephone"))
