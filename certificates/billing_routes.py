"""Billing (R11) and realisation (R18) exports of the API: JSON, CSV (streamed), XLSX."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import marshmallow as ma
from flask import Response, stream_with_context

from certificates import billing_services, exports, realisation
from core.api import Blueprint
from core.auth import Principal, roles_required
from core.db import utcnow
from core.models import Role

blp = Blueprint("billing", __name__, url_prefix="/api/v1", description="Facturation et réalisation")
READERS = (Role.FINANCE, Role.ORG_ADMIN, Role.REGION)
MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")  # whole value only: fullmatch
FILE = {"type": "string", "format": "binary"}
CSV_DOC = {"type": "string", "description": "UTF-8 with BOM, `;`, decimal comma"}


def _month(value: str) -> None:
    found = MONTH.fullmatch(value)  # "2026-03\n" is refused, never reaches a file name
    if not found or not 1900 <= int(found[1]) <= 2100:
        raise ma.ValidationError("Mois attendu au format AAAA-MM (1900 à 2100).")


class BillingArgs(ma.Schema):
    month = ma.fields.String(
        required=True,
        validate=_month,
        metadata={
            "pattern": f"^{MONTH.pattern}$",
            "example": "2026-03",
            "description": "Europe/Paris",
        },
    )
    format = ma.fields.String(
        load_default="json", validate=ma.validate.OneOf(["json", "csv", "xlsx"])
    )


class RealisationArgs(BillingArgs):
    format = ma.fields.String(load_default="json", validate=ma.validate.OneOf(["json", "csv"]))


def _hours(*names: str) -> dict[str, ma.fields.Field]:
    fields: dict[str, ma.fields.Field] = {}
    for name in names:
        fields[f"{name}_minutes"] = ma.fields.Integer()
        fields[f"{name}_hours"] = ma.fields.Float(metadata={"description": "two decimals"})
    return fields


TOTAL_NAMES = ("billable", "whole_group", "subgroup", "autoformation", "planned")
FlagSchema = ma.Schema.from_dict(
    {
        "code": ma.fields.String(),
        "message": ma.fields.String(),
        "rule": ma.fields.String(allow_none=True),
    },
    name="BillingFlag",
)
ReasonSchema = ma.Schema.from_dict(
    {"code": ma.fields.String(), "message": ma.fields.String()}, name="NotHeldReason"
)
TotalsSchema = ma.Schema.from_dict(_hours(*TOTAL_NAMES), name="BillingTotals")
LineSchema = ma.Schema.from_dict(
    {
        "session_id": ma.fields.String(),
        "title": ma.fields.String(),
        "kind": ma.fields.String(),
        "starts_at": ma.fields.String(),
        "ends_at": ma.fields.String(),
        "opened_at": ma.fields.String(allow_none=True),
        "closed_at": ma.fields.String(allow_none=True),
        "audience": ma.fields.String(),
        "participant_count": ma.fields.Integer(),
        "site_id": ma.fields.String(allow_none=True),
        "held": ma.fields.Boolean(),
        "billable": ma.fields.Boolean(),
        "not_held": ma.fields.List(ma.fields.Nested(ReasonSchema)),
        **_hours("group"),
        "flags": ma.fields.List(ma.fields.Nested(FlagSchema)),
    },
    name="BillingSessionLine",
)
GroupBillingSchema = ma.Schema.from_dict(
    {
        "group_id": ma.fields.String(),
        "name": ma.fields.String(),
        "component": ma.fields.String(),
        **_hours(*TOTAL_NAMES),
        "not_held_count": ma.fields.Integer(),
        "flag_count": ma.fields.Integer(),
        "sessions": ma.fields.List(ma.fields.Nested(LineSchema)),
    },
    name="GroupBilling",
)
OrderBillingSchema = ma.Schema.from_dict(
    {
        "order_id": ma.fields.String(),
        "number": ma.fields.String(),
        "title": ma.fields.String(),
        "modality": ma.fields.String(),
        "organisation_id": ma.fields.String(),
        "organisation": ma.fields.String(),
        "month": ma.fields.String(),
        "centre_hours": ma.fields.Float(),
        **_hours("autoformation_planned"),
        "flags": ma.fields.List(ma.fields.Nested(FlagSchema)),
        "totals": ma.fields.Nested(TotalsSchema),
        "groups": ma.fields.List(ma.fields.Nested(GroupBillingSchema)),
    },
    name="OrderBilling",
)
MonthBillingSchema = ma.Schema.from_dict(
    {
        "month": ma.fields.String(),
        "totals": ma.fields.Nested(TotalsSchema),
        "orders": ma.fields.List(ma.fields.Nested(OrderBillingSchema)),
    },
    name="MonthBilling",
)
COLUMNS = ("centre", "company", "fad", "autoformation", "total")
RealisationLineSchema = ma.Schema.from_dict(
    {
        "enrolment_id": ma.fields.String(),
        "trainee_id": ma.fields.String(),
        "last_name": ma.fields.String(),
        "first_name": ma.fields.String(),
        "group_id": ma.fields.String(),
        "group_name": ma.fields.String(),
        **_hours(*COLUMNS),
    },
    name="RealisationLine",
)
RealisationSchema = ma.Schema.from_dict(
    {
        "order_id": ma.fields.String(),
        "number": ma.fields.String(),
        "month": ma.fields.String(),
        "totals": ma.fields.Nested(ma.Schema.from_dict(_hours(*COLUMNS), name="RealisationTotals")),
        "items": ma.fields.List(ma.fields.Nested(RealisationLineSchema)),
    },
    name="Realisation",
)


def period(args: dict[str, Any]) -> tuple[int, int]:
    year, month = args["month"].split("-")
    return int(year), int(month)


def month_text(year: int, month: int) -> str:
    """The month of a file name, written from the parsed numbers (never the raw query)."""
    return f"{year:04d}-{month:02d}"


def safe_name(text: str) -> str:
    """A file name part from people's text (an order number)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")[:40] or "export"


def download(body: bytes | Iterator[bytes], media_type: str, filename: str) -> Response:
    """An attachment; an iterator streams (CSV), within the request's context."""
    content = stream_with_context(body) if not isinstance(body, bytes) else body
    response = Response(content, mimetype=media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def billing_download(results: Any, fmt: str, name: str, grand_total: bool) -> Response:
    rows = exports.billing_rows(results, grand_total=grand_total)
    if fmt == "csv":
        return download(
            exports.csv_stream(exports.BILLING_COLUMNS, rows), exports.CSV_MEDIA_TYPE, f"{name}.csv"
        )
    data = exports.xlsx_bytes("Facturation", exports.BILLING_COLUMNS, rows)
    return download(data, exports.XLSX_MEDIA_TYPE, f"{name}.xlsx")


def _files(*media_types: str) -> Any:
    """The other media types a 200 may carry, beside JSON (the `format` asked)."""

    def decorate(view: Any) -> Any:
        for media_type in media_types:
            schema = CSV_DOC if media_type == exports.CSV_MEDIA_TYPE else FILE
            view = blp.alt_response(
                200,
                schema=schema,
                content_type=media_type,
                success=True,
                description="The export asked by `format`",
            )(view)
        return view

    return decorate


@blp.route("/orders/<order_id>/billing", methods=["GET"])
@roles_required(*READERS)
@blp.arguments(BillingArgs, location="query")
@blp.response(200, OrderBillingSchema)
@_files(exports.CSV_MEDIA_TYPE, exports.XLSX_MEDIA_TYPE)
def order_billing(args: dict[str, Any], order_id: str, principal: Principal) -> Any:
    """An order's billable group-hours for a month: held synchronous sessions only (R11)."""
    year, month = period(args)
    result = billing_services.order_billing(principal, order_id, year, month, utcnow())
    if args["format"] == "json":
        return exports.order_json(result)
    name = f"facturation-{safe_name(result.order.number)}-{month_text(year, month)}"
    return billing_download([result], args["format"], name, grand_total=False)


@blp.route("/billing", methods=["GET"])
@roles_required(*READERS)
@blp.arguments(BillingArgs, location="query")
@blp.response(200, MonthBillingSchema)
@_files(exports.CSV_MEDIA_TYPE, exports.XLSX_MEDIA_TYPE)
def month_billing(args: dict[str, Any], principal: Principal) -> Any:
    """Every order's billable group-hours for a month: the Région's whole region, an
    organisation's own orders (R11)."""
    year, month = period(args)
    results = billing_services.month_billings(principal, year, month, utcnow())
    if args["format"] == "json":
        return exports.region_json(year, month, results)
    name = f"facturation-{month_text(year, month)}"
    return billing_download(results, args["format"], name, True)


@blp.route("/orders/<order_id>/realisation", methods=["GET"])
@roles_required(*READERS)
@blp.arguments(RealisationArgs, location="query")
@blp.response(200, RealisationSchema)
@_files(exports.CSV_MEDIA_TYPE)
def order_realisation(args: dict[str, Any], order_id: str, principal: Principal) -> Any:
    """Hours realised per trainee in a month, centre, company, FAD and autoformation, for
    SIGMA FP (R18)."""
    year, month = period(args)
    result = realisation.order_realisation(principal, order_id, year, month, utcnow())
    if args["format"] == "json":
        return exports.realisation_json(result)
    rows = exports.realisation_rows(result)
    return download(
        exports.csv_stream(exports.REALISATION_COLUMNS, rows),
        exports.CSV_MEDIA_TYPE,
        f"realisation-{safe_name(result.order.number)}-{month_text(year, month)}.csv",
    )
