"""`GET /api/v1/dashboards`: the Région's dashboards (an organisation's own), JSON or CSV."""

from __future__ import annotations

from typing import Any

from flask import Response, stream_with_context

from certificates.exports import CSV_MEDIA_TYPE, Column, csv_stream
from compliance import dashboards
from compliance.schemas import DashboardArgs
from core.api import Blueprint
from core.auth import Principal, roles_required
from core.clock import local_day
from core.db import utcnow
from core.errors import InvalidInput
from core.models import Role

blp = Blueprint("dashboards", __name__, url_prefix="/api/v1", description="Tableaux de bord")

CSV_COLUMNS = (
    Column("organisation", "Organisme", 30),
    Column("number", "Bon de commande", 16),
    Column("department", "Département", 8),
    Column("planned_hours", "Heures prévues"),
    Column("realised_hours", "Heures réalisées"),
    Column("billable_hours", "Heures groupe facturables"),
    Column("attendance_rate", "Taux de présence"),
    Column("autoformation_share", "Part d'autoformation"),
    Column("absences", "Demi-journées d'absence"),
    Column("help_requests", "Demandes d'aide"),
    Column("help_late", "Demandes d'aide en retard (R8)"),
    Column("help_average_minutes", "Délai moyen de réponse (min)"),
)


def period_of(args: dict[str, Any]) -> str:
    if args["month"] and args["year"]:
        raise InvalidInput("Donnez un mois ou une année, pas les deux.", code="invalid_period")
    return args["month"] or args["year"] or f"{local_day(utcnow()):%Y-%m}"


def csv_rows(answer: dict[str, Any]) -> list[dict[str, Any]]:
    names = {o["organisation_id"]: o["name"] for o in answer["organisations"]}
    return [
        {
            **order,
            "organisation": names.get(order["organisation_id"], ""),
            "absences": sum(order["absences_by_reason"].values()),
        }
        for order in answer["orders"]
    ]


@blp.route("/dashboards", methods=["GET"])
@roles_required(Role.REGION, Role.ORG_ADMIN, Role.FINANCE)
@blp.arguments(DashboardArgs, location="query")
@blp.response(
    200, description="`{scope, period, totals, organisations, orders, departments, flags}`"
)
def dashboard(args: dict[str, Any], principal: Principal) -> Any:
    """Planned, realised and billable hours, attendance rate, absences by reason, autoformation
    share, help requests and answer times (R8), outcomes at 3 and 6 months (R23), and the open
    flags with their rule, per organisation, order and department, for a month (`month`) or a
    year (`year`). `scope=region`: the Région only (`organisation_id` narrows it to one)."""
    board = dashboards.build(
        principal, args["scope"], period_of(args), utcnow(), args["organisation_id"]
    )
    answer = dashboards.as_dict(board)
    if args["format"] == "json":
        return answer
    response = Response(
        stream_with_context(csv_stream(CSV_COLUMNS, csv_rows(answer))),
        mimetype=CSV_MEDIA_TYPE,
    )
    name = f"tableau-de-bord-{board.period}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
