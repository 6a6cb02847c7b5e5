"""The dashboard page: the Région reads any organisation's month (or year), an organisation
its own; figures per organisation, order and department, a chart, the open flags with their
rule, and the CSV."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, render_template, request, stream_with_context

from certificates.exports import CSV_MEDIA_TYPE, csv_stream
from compliance import dashboards, rollups
from compliance.dashboard_routes import CSV_COLUMNS, csv_rows
from core.auth import Principal, roles_required
from core.clock import local_day
from core.db import utcnow
from core.errors import DomainError
from core.models import Role
from core.templating import template_constants
from training.rules import DEPARTMENTS

bp = Blueprint("dashboard_pages", __name__, template_folder="templates")
READERS = (Role.REGION, Role.ORG_ADMIN, Role.FINANCE)
PERIOD = re.compile(r"^\d{4}(-(0[1-9]|1[0-2]))?\Z")
template_constants(
    bp,
    absence_labels=rollups.ABSENCE_LABELS,
    department_labels=DEPARTMENTS,
    situation_short={
        "employment": "en emploi",
        "training": "en formation",
        "job_search": "en recherche",
        "other": "autre",
    },
)


def _query(principal: Principal) -> tuple[str, str, str | None, str | None]:
    """(scope, period, organisation, error) from the page's query string."""
    period = request.args.get("periode", "").strip() or f"{local_day(utcnow()):%Y-%m}"
    error = None
    if not PERIOD.match(period):
        error = "Indiquez un mois (AAAA-MM) ou une année (AAAA)."
        period = f"{local_day(utcnow()):%Y-%m}"
    region = principal.has_role(Role.REGION)
    organisation = (request.args.get("organisme") or None) if region else None
    return ("region" if region else "organisation"), period, organisation, error


@bp.route("/tableau-de-bord")
@roles_required(*READERS)
def board(principal: Principal) -> Any:
    scope, period, organisation, error = _query(principal)
    try:
        built = dashboards.build(principal, scope, period, utcnow(), organisation)
    except DomainError as exc:
        error = exc.message
        built = dashboards.build(principal, scope, f"{local_day(utcnow()):%Y-%m}", utcnow())
    answer = dashboards.as_dict(built)
    peak = max(
        [1.0, *(max(o["planned_hours"], o["realised_hours"]) for o in answer["organisations"])]
    )
    return render_template(
        "dashboard.html",
        board=answer,
        period=period,
        organisation=organisation,
        organisations=dashboards.organisation_choices(principal),
        peak=peak,
        error=error,
    )


@bp.route("/tableau-de-bord.csv")
@roles_required(*READERS)
def board_csv(principal: Principal) -> Any:
    scope, period, organisation, _ = _query(principal)
    built = dashboards.build(principal, scope, period, utcnow(), organisation)
    response = Response(
        stream_with_context(csv_stream(CSV_COLUMNS, csv_rows(dashboards.as_dict(built)))),
        mimetype=CSV_MEDIA_TYPE,
    )
    response.headers["Content-Disposition"] = (
        f'attachment; filename="tableau-de-bord-{built.period}.csv"'
    )
    return response
