"""The plan pages: the organisation checks and submits a group's plan, the Région reads the
flags with their rules and decides; the group's page shows where the plan stands."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import marshmallow as ma
from flask import Blueprint, flash, redirect, render_template, request, url_for
from markupsafe import Markup
from marshmallow import validate

from compliance import rules, services
from compliance.models import POSTPONED, REPLACED, SUBMITTED, VALIDATED, PlanSubmission
from compliance.schemas import PlanDecisionInSchema
from core.api import Day
from core.auth import Principal, roles_required
from core.db import utcnow
from core.errors import DomainError
from core.extensions import db
from core.forms import read_form
from core.models import Role
from core.templating import template_constants
from training.models import Group
from training.signals import group_page

bp = Blueprint("compliance_pages", __name__, template_folder="templates")
CLOSURE_ROWS = 3
STATUS_LABELS = {
    SUBMITTED: "Transmis, en attente de la Région",
    VALIDATED: "Validé par la Région",
    POSTPONED: "Report demandé par la Région",
    REPLACED: "Remplacé par une soumission plus récente",
}
COMPONENT_LABELS = {
    rules.TRAINING: "Formation",
    rules.POSITIONING: "Positionnement (R20 : 2 à 14 h)",
    rules.JOB_SEARCH: "Techniques de recherche d'emploi (R21 : 14 h au moins)",
}
CHANGE_LABELS = {"added": "Ajoutée", "removed": "Supprimée", "changed": "Modifiée"}
FIELD_LABELS = {
    "kind": "nature",
    "title": "intitulé",
    "starts_at": "début",
    "ends_at": "fin",
    "participant_ids": "participants",
}
template_constants(
    bp,
    plan_status_labels=STATUS_LABELS,
    component_labels=COMPONENT_LABELS,
    change_labels=CHANGE_LABELS,
    change_field_labels=FIELD_LABELS,
)

Hours = validate.Range(min=0, max=168)


class PlanForm(ma.Schema):
    """The submission form, flat: the typical week, the component, up to three closures."""

    tutorat = ma.fields.Float(required=True, validate=Hours)
    autoformation = ma.fields.Float(required=True, validate=Hours)
    regroupement = ma.fields.Float(required=True, validate=Hours)
    component_kind = ma.fields.String(required=True, validate=validate.OneOf(rules.COMPONENT_KINDS))
    component_hours = ma.fields.Float(required=True, validate=validate.Range(min=0, max=2000))
    closure_start_1, closure_end_1 = Day(), Day()
    closure_start_2, closure_end_2 = Day(), Day()
    closure_start_3, closure_end_3 = Day(), Day()


def _submission_data(form: dict[str, Any]) -> dict[str, Any]:
    closures = []
    for row in range(1, CLOSURE_ROWS + 1):
        start, end = form.get(f"closure_start_{row}"), form.get(f"closure_end_{row}")
        if start or end:
            closures.append({"start": start or end, "end": end or start})
    return {
        "typical_week": {kind: form[kind] for kind in rules.KINDS},
        "component_kind": form["component_kind"],
        "component_hours": form["component_hours"],
        "closures": closures,
    }


def _values(submission: PlanSubmission | None, group: Group) -> dict[str, Any]:
    """The form's values: the last submission's, or the group's planned hours to start from."""
    if submission is None:
        return {"component_kind": rules.TRAINING, "component_hours": ""}
    values: dict[str, Any] = {
        "component_kind": submission.component_kind,
        "component_hours": f"{submission.component_hours:g}",
        **{kind: f"{float(submission.typical_week[kind]):g}" for kind in rules.KINDS},
    }
    for row, closure in enumerate(submission.closures[:CLOSURE_ROWS], start=1):
        values[f"closure_start_{row}"] = closure["start"]
        values[f"closure_end_{row}"] = closure["end"]
    return values


def _page(
    principal: Principal,
    group: Group,
    *,
    error: DomainError | None = None,
    values: Any = None,
    decision_error: DomainError | None = None,
) -> str:
    checks = services.checks_of(group)
    for change in checks.changes:
        change["when"] = datetime.fromisoformat(change["session"]["starts_at"])
    submissions = services.group_submissions(group.id)
    pending = next((s for s in submissions if s.status == SUBMITTED), None)
    return render_template(
        "plan.html",
        group=group,
        checks=checks,
        submissions=submissions,
        pending=pending,
        can_submit=principal.has_role(Role.ORG_ADMIN),
        can_decide=principal.has_role(Role.REGION) and pending is not None,
        error=error,
        decision_error=decision_error,
        values=values if values is not None else _values(checks.latest, group),
        closure_rows=range(1, CLOSURE_ROWS + 1),
    )


@bp.route("/groupes/<group_id>/plan", methods=["GET", "POST"])
@roles_required(*services.READERS)
def plan(group_id: str, principal: Principal) -> Any:
    """The group's plan: its checks now, the submission form, the submissions and decisions."""
    group = services.readable_group(principal, group_id)
    if request.method == "GET":
        return _page(principal, group)
    try:
        data = _submission_data(read_form(PlanForm(), request.form))
        submission = services.submit(principal, group.id, data, utcnow())
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        return _page(principal, group, error=exc, values=request.form), exc.status
    flagged = len(submission.flags)
    late = " (hors délai)" if submission.late else ""
    flash(
        f"Plan n° {submission.number} transmis à la Région{late} : "
        f"{flagged} point{'s' if flagged > 1 else ''} signalé{'s' if flagged > 1 else ''}.",
        "success",
    )
    return redirect(url_for(".plan", group_id=group.id, _anchor="soumissions"))


@bp.route("/plans/<submission_id>/decision", methods=["POST"])
@roles_required(Role.REGION)
def decide(submission_id: str, principal: Principal) -> Any:
    """The Région's decision on a submitted plan, from the group's plan page."""
    submission = services.get_submission(principal, submission_id)
    try:
        data = read_form(PlanDecisionInSchema(), request.form)
        services.decide(principal, submission.id, data, utcnow())
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        return _page(principal, submission.group, decision_error=exc), exc.status
    word = "validé" if data["decision"] == VALIDATED else "reporté (raison transmise)"
    flash(f"Plan n° {submission.number} du groupe {submission.group.name} {word}.", "success")
    return redirect(url_for(".plan", group_id=submission.group_id, _anchor="soumissions"))


@bp.route("/region/plans")
@roles_required(Role.REGION)
def to_decide(principal: Principal) -> Any:
    """The Région's list: the plans waiting for a decision, then the latest decided."""
    status = request.args.get("statut", SUBMITTED)
    if status not in STATUS_LABELS:
        status = SUBMITTED
    query = services.list_submissions(principal, status).order_by(
        PlanSubmission.submitted_at.desc()
    )
    return render_template(
        "plans_to_decide.html",
        submissions=list(db.session.scalars(query.limit(200))),
        status=status,
    )


@group_page.connect
def plan_section(group: Group, principal: Principal) -> Markup | None:
    """Where the group's plan stands, on training's group page (Région and organisation)."""
    if not principal.has_role(*services.READERS):
        return None
    submissions = services.group_submissions(group.id)
    return Markup(  # noqa: S704 - a template of ours, escaped by Jinja
        render_template(
            "_plan_section.html",
            group=group,
            latest=submissions[0] if submissions else None,
            deadline=rules.submission_deadline(group.first_day),
        )
    )
