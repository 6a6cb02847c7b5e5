"""Billing and realisation exports as JSON, CSV and XLSX: data in, bytes out (no database).

CSV is written for French Excel as it opens a file by double click: UTF-8 with a byte-order
mark, `;` between fields, a decimal comma, CRLF line ends, French headers. It is produced
row by row (a generator), so a large export streams. XLSX is written by xlsxwriter in its
constant-memory mode, numbers as numbers (two decimals shown). Text that came from people
(titles, names) is never taken for a formula: CSV cells that would start one get a leading
apostrophe, XLSX cells are written as strings. Columns: docs/exports.md.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import xlsxwriter

from certificates import billing
from certificates.realisation import Realisation
from core.clock import PARIS

CSV_MEDIA_TYPE = "text/csv"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BOM = "\ufeff"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Row = dict[str, Any]  # column key → str, int, Decimal or None


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    width: int = 14


# --- JSON -----------------------------------------------------------------------------------


def _flags(flags: Iterable[billing.Flag]) -> list[dict[str, Any]]:
    return [{"code": f.code, "message": f.message, "rule": f.rule} for f in flags]


def _hours_pair(prefix: str, minutes: int) -> dict[str, Any]:
    return {f"{prefix}_minutes": minutes, f"{prefix}_hours": float(billing.hours(minutes))}


def _totals_json(totals: dict[str, int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, minutes in totals.items():
        out |= _hours_pair(name.removesuffix("_minutes"), minutes)
    return out


def line_json(line: billing.SessionLine) -> dict[str, Any]:
    s = line.session
    return {
        "session_id": s.id,
        "title": s.title,
        "kind": s.kind,
        "starts_at": s.starts_at.astimezone(PARIS).isoformat(),
        "ends_at": s.ends_at.astimezone(PARIS).isoformat(),
        "opened_at": s.opened_at.astimezone(PARIS).isoformat() if s.opened_at else None,
        "closed_at": s.closed_at.astimezone(PARIS).isoformat() if s.closed_at else None,
        "audience": s.audience,
        "participant_count": line.participant_count,
        "site_id": s.site_id,
        "held": line.held,
        "billable": line.billable,
        "not_held": [{"code": c, "message": billing.NOT_HELD[c]} for c in line.not_held],
        **_hours_pair("group", line.minutes),
        "flags": _flags(line.flags),
    }


def group_json(group: billing.GroupBilling) -> dict[str, Any]:
    totals = {name: getattr(group, name) for name in billing.TOTALS}
    return {
        "group_id": group.group_id,
        "name": group.name,
        "component": group.component,
        **_totals_json(totals),
        "not_held_count": group.not_held_count,
        "flag_count": group.flag_count,
        "sessions": [line_json(line) for line in group.lines],
    }


def order_json(result: billing.OrderBilling) -> dict[str, Any]:
    order = result.order
    return {
        "order_id": order.id,
        "number": order.number,
        "title": order.title,
        "modality": order.modality,
        "organisation_id": order.organisation_id,
        "organisation": order.organisation,
        "month": f"{result.year:04d}-{result.month:02d}",
        "centre_hours": order.centre_hours,
        **_hours_pair("autoformation_planned", result.autoformation_planned_minutes),
        "flags": _flags(result.flags),
        "totals": _totals_json(result.totals),
        "groups": [group_json(group) for group in result.groups],
    }


def region_json(year: int, month: int, results: Iterable[billing.OrderBilling]) -> dict[str, Any]:
    orders = list(results)
    totals = billing.totals(group for result in orders for group in result.groups)
    return {
        "month": f"{year:04d}-{month:02d}",
        "totals": _totals_json(totals),
        "orders": [order_json(result) for result in orders],
    }


def realisation_json(result: Realisation) -> dict[str, Any]:
    def line(item: Any) -> dict[str, Any]:
        out = {
            "enrolment_id": item.enrolment_id,
            "trainee_id": item.trainee_id,
            "last_name": item.last_name,
            "first_name": item.first_name,
            "group_id": item.group_id,
            "group_name": item.group_name,
        }
        for name in ("centre", "company", "fad", "autoformation", "total"):
            out |= _hours_pair(name, getattr(item, name))
        return out

    return {
        "order_id": result.order.id,
        "number": result.order.number,
        "month": f"{result.year:04d}-{result.month:02d}",
        "totals": {
            k: v
            for name, minutes in result.totals().items()
            for k, v in _hours_pair(name, minutes).items()
        },
        "items": [line(item) for item in result.lines],
    }


# --- the billing table (CSV and XLSX share it) ---------------------------------------------

BILLING_COLUMNS = (
    Column("line", "Type de ligne", 20),
    Column("organisation", "Organisme", 24),
    Column("order", "Bon de commande", 16),
    Column("order_title", "Intitulé de l'action", 28),
    Column("group", "Groupe", 20),
    Column("component", "Composante", 20),
    Column("session_id", "Séance (identifiant)", 26),
    Column("title", "Intitulé de la séance", 28),
    Column("kind", "Nature", 14),
    Column("date", "Date", 11),
    Column("start", "Début", 7),
    Column("end", "Fin", 7),
    Column("closed", "Clôture", 7),
    Column("audience", "Participants", 14),
    Column("participant_count", "Nombre de participants", 10),
    Column("held", "Tenue", 8),
    Column("not_held", "Motif de non-tenue", 30),
    Column("session_hours", "Heures de la séance", 10),
    Column("billable", "Heures groupe facturables", 12),
    Column("whole_group", "Heures groupe entier", 12),
    Column("subgroup", "Heures sous-groupes et individuelles", 14),
    Column("autoformation", "Heures autoformation (non facturées)", 14),
    Column("planned", "Heures synchrones prévues", 12),
    Column("flags", "Alertes", 40),
)
TOTAL_KEYS = {
    "billable_minutes": "billable",
    "whole_group_minutes": "whole_group",
    "subgroup_minutes": "subgroup",
    "autoformation_minutes": "autoformation",
    "planned_minutes": "planned",
}


def _flag_text(flags: Iterable[billing.Flag]) -> str:
    return " ; ".join(f"{f.rule} : {f.message}" if f.rule else f.message for f in flags)


def _clock(moment: datetime | None) -> str:
    return moment.astimezone(PARIS).strftime("%H:%M") if moment else ""


def _total_row(label: str, order: billing.OrderInfo | None, totals: dict[str, int]) -> Row:
    row: Row = {"line": label}
    if order is not None:
        row |= {"organisation": order.organisation, "order": order.number}
        row["order_title"] = order.title
    for name, key in TOTAL_KEYS.items():
        row[key] = billing.hours(totals[name])
    return row


def _session_row(line: billing.SessionLine) -> Row:
    s = line.session
    held = ("oui" if line.held else "non") if s.synchronous else "sans objet"
    return {
        "line": "séance",
        "session_id": s.id,
        "title": s.title,
        "kind": billing.KIND_LABELS.get(s.kind, s.kind),
        "date": s.starts_at.astimezone(PARIS).strftime("%d/%m/%Y"),
        "start": _clock(s.starts_at),
        "end": _clock(s.ends_at),
        "closed": _clock(s.closed_at),
        "audience": billing.AUDIENCE_LABELS[s.audience],
        "participant_count": line.participant_count,
        "held": held,
        "not_held": ", ".join(billing.NOT_HELD[c] for c in line.not_held),
        "session_hours": billing.hours(line.minutes),
        "flags": _flag_text(line.flags),
    }


def billing_rows(results: Iterable[billing.OrderBilling], grand_total: bool) -> Iterator[Row]:
    """Each session, then its group's total, then the order's total; the sum of all orders
    last when asked (the Région-wide export)."""
    overall = dict.fromkeys(billing.TOTALS, 0)
    for result in results:
        order = result.order
        where = {"organisation": order.organisation, "order": order.number}
        where["order_title"] = order.title
        for group in result.groups:
            place = where | {"group": group.name, "component": group.component}
            for line in group.lines:
                yield place | _session_row(line)
            totals = {name: getattr(group, name) for name in billing.TOTALS}
            yield (
                place
                | _total_row("total groupe", None, totals)
                | {"flags": f"{group.flag_count} alerte(s)" if group.flag_count else ""}
            )
        row = _total_row("total bon de commande", order, result.totals)
        yield row | {"flags": _flag_text(result.flags)}
        for name, minutes in result.totals.items():
            overall[name] += minutes
    if grand_total:
        yield _total_row("total général", None, overall)


# --- the realisation table ------------------------------------------------------------------

REALISATION_COLUMNS = (
    Column("order", "N° bon de commande", 16),
    Column("month", "Mois", 8),
    Column("trainee_id", "Identifiant stagiaire", 26),
    Column("last_name", "Nom", 20),
    Column("first_name", "Prénom", 20),
    Column("enrolment_id", "Identifiant parcours", 26),
    Column("group", "Groupe", 20),
    Column("centre", "Heures centre", 10),
    Column("company", "Heures entreprise", 10),
    Column("fad", "Heures FAD", 10),
    Column("autoformation", "Heures autoformation", 10),
    Column("total", "Heures totales", 10),
)


def realisation_rows(result: Realisation) -> Iterator[Row]:
    month = f"{result.year:04d}-{result.month:02d}"
    for line in result.lines:
        row: Row = {
            "order": result.order.number,
            "month": month,
            "trainee_id": line.trainee_id,
            "last_name": line.last_name,
            "first_name": line.first_name,
            "enrolment_id": line.enrolment_id,
            "group": line.group_name,
        }
        for name in ("centre", "company", "fad", "autoformation", "total"):
            row[name] = billing.hours(getattr(line, name))
        yield row


# --- writers --------------------------------------------------------------------------------


def csv_cell(value: Any) -> str:
    """A value as French Excel reads it: decimal comma, no formula from people's text."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}".replace(".", ",")
    if isinstance(value, int | float):
        return str(value).replace(".", ",")
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_START) else text


def csv_stream(columns: Sequence[Column], rows: Iterable[Row]) -> Iterator[bytes]:
    """UTF-8 with BOM, `;`, CRLF: the header, then one chunk per row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")

    def flush() -> bytes:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text.encode("utf-8")

    buffer.write(BOM)
    writer.writerow([c.header for c in columns])
    yield flush()
    for row in rows:
        writer.writerow([csv_cell(row.get(c.key)) for c in columns])
        yield flush()


def xlsx_bytes(sheet: str, columns: Sequence[Column], rows: Iterable[Row]) -> bytes:
    """One worksheet: a bold frozen header with filters, numbers as numbers (0.00)."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"constant_memory": True})
    bold = book.add_format({"bold": True, "text_wrap": True, "valign": "top"})
    number = book.add_format({"num_format": "0.00"})
    page = book.add_worksheet(sheet[:31])
    for index, column in enumerate(columns):
        page.set_column(index, index, column.width)
        page.write_string(0, index, column.header, bold)
    page.freeze_panes(1, 0)
    count = 0
    for count, row in enumerate(rows, start=1):  # noqa: B007 - the last count sizes the filter
        for index, column in enumerate(columns):
            _write_cell(page, count, index, row.get(column.key), number)
    page.autofilter(0, 0, max(count, 1), len(columns) - 1)
    book.close()
    return out.getvalue()


def _write_cell(page: Any, row: int, col: int, value: Any, number: Any) -> None:
    if value is None or value == "":
        return
    if isinstance(value, Decimal):
        page.write_number(row, col, float(value), number)
    elif isinstance(value, int | float):
        page.write_number(row, col, value)
    else:
        page.write_string(row, col, str(value))


Writer = Callable[[Sequence[Column], Iterable[Row]], Any]
