"""Finance's month page: choose an order (or every order) and a month; totals, flags, held
against planned group-hours per group, and the exports to download.

The downloads are served here too, behind the page's own sign-in (the API takes a bearer,
which a browser link does not carry); they run the same use cases and writers as the API.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, render_template, request

from certificates import billing, billing_services, exports, realisation
from certificates.billing_routes import billing_download, download, month_text, safe_name
from core.auth import Principal, roles_required
from core.clock import local_day
from core.db import utcnow
from core.errors import InvalidInput
from core.models import Role
from core.templating import MONTHS, template_constants
from training import services as training

bp = Blueprint("finance_pages", __name__, template_folder="templates")
READERS = (Role.FINANCE, Role.ORG_ADMIN, Role.REGION)
ALL = "tous"
MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")  # whole value only: fullmatch
template_constants(
    bp,
    kind_names=billing.KIND_LABELS,
    audiences=billing.AUDIENCE_LABELS,
    not_held_labels=billing.NOT_HELD,
)


def _period() -> tuple[int, int, str]:
    """The month asked (`?mois=AAAA-MM`), this month (Paris) when none."""
    text = request.args.get("mois", "").strip()
    if not text:
        today = local_day(utcnow())
        return today.year, today.month, f"{today:%Y-%m}"
    found = MONTH.fullmatch(text)
    if not found or not 1900 <= int(found[1]) <= 2100:
        raise InvalidInput("Indiquez le mois au format AAAA-MM, par exemple 2026-03.")
    year, month = int(found[1]), int(found[2])
    return year, month, month_text(year, month)


def _choice() -> str:
    return request.args.get("commande", "").strip() or ALL


def _results(principal: Principal, choice: str, year: int, month: int) -> list[Any]:
    now = utcnow()
    if choice == ALL:
        return list(billing_services.month_billings(principal, year, month, now))
    return [billing_services.order_billing(principal, choice, year, month, now)]


@bp.route("/finance/mois")
@roles_required(*READERS)
def month(principal: Principal) -> Any:
    """The month's billing on screen."""
    choice = _choice()
    error: str | None = None
    try:
        year, number, text = _period()
    except InvalidInput as refusal:
        today = local_day(utcnow())
        year, number, text = today.year, today.month, f"{today:%Y-%m}"
        error = refusal.message
    results = _results(principal, choice, year, number)
    groups = [group for result in results for group in result.groups]
    context = {
        "orders": training.list_orders(principal),
        "choice": choice,
        "month_text": text,
        "month_label": f"{MONTHS[number - 1]} {year}",
        "results": results,
        "totals": billing.totals(groups),
        "not_held": sum(group.not_held_count for group in groups),
        "flag_count": sum(g.flag_count for g in groups) + sum(len(r.flags) for r in results),
        "chart": _chart(results),
        "error": error,
        "all": ALL,
    }
    return render_template("finance_month.html", **context), 400 if error else 200


def _chart(results: list[billing.OrderBilling]) -> list[dict[str, Any]]:
    """Held and planned synchronous group-hours per group, as shares of the largest."""
    bars: list[dict[str, Any]] = [
        {
            "label": f"{r.order.number} · {g.name}" if len(results) > 1 else g.name,
            "held": g.billable_minutes,
            "planned": g.planned_minutes,
        }
        for r in results
        for g in r.groups
    ]
    top = max([max(b["held"], b["planned"]) for b in bars] + [1])
    for bar in bars:
        bar["held_pct"] = round(100 * bar["held"] / top, 1)
        bar["planned_pct"] = round(100 * bar["planned"] / top, 1)
    return bars


@bp.route("/finance/facturation.<any(csv, xlsx):fmt>")
@roles_required(*READERS)
def billing_file(fmt: str, principal: Principal) -> Any:
    """The month's billing as CSV (streamed) or XLSX: one order, or every order."""
    choice = _choice()
    year, number, text = _period()
    now = utcnow()
    if choice == ALL:
        results = billing_services.month_billings(principal, year, number, now)
        return billing_download(results, fmt, f"facturation-{text}", grand_total=True)
    result = billing_services.order_billing(principal, choice, year, number, now)
    name = f"facturation-{safe_name(result.order.number)}-{text}"
    return billing_download([result], fmt, name, grand_total=False)


@bp.route("/finance/realisation.csv")
@roles_required(*READERS)
def realisation_file(principal: Principal) -> Any:
    """One order's realisation of the month for SIGMA FP (R18), as CSV."""
    choice = _choice()
    if choice == ALL:
        raise InvalidInput("Choisissez un bon de commande pour l'export de réalisation.")
    year, number, text = _period()
    result = realisation.order_realisation(principal, choice, year, number, utcnow())
    return download(
        exports.csv_stream(exports.REALISATION_COLUMNS, exports.realisation_rows(result)),
        exports.CSV_MEDIA_TYPE,
        f"realisation-{safe_name(result.order.number)}-{text}.csv",
    )
