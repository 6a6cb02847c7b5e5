"""The CSV and XLSX exports read back into the JSON's numbers; CSV as French Excel opens it."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import openpyxl

from certificates import exports
from tests.attendance.support import DAY, at, enrol, install_clock, plan, tenant_learner
from tests.certificates.billing_support import MONTH, billing_of, hold
from tests.conftest import bearer

HEADERS = [c.header for c in exports.BILLING_COLUMNS]


def a_month(app, client, tenant, monkeypatch) -> dict[str, str]:  # noqa: ANN001
    """A held tutorat (09:00–11:20), a session nobody signed, a held autoformation."""
    clock = install_clock(monkeypatch, at(DAY, 8, 50))
    amina = tenant_learner(app, tenant)
    lea = enrol(app, client, tenant, "=Léa")  # a name that would be a formula
    held = plan(app, client, tenant, start=(9, 0), end=(12, 0), title='=HYPERLINK("x")')
    hold(app, client, tenant, clock, held, [amina, lea], close=(11, 20))
    empty = plan(app, client, tenant, start=(13, 0), end=(14, 0))
    hold(app, client, tenant, clock, empty, [], start=(13, 0), close=(14, 0))
    auto = plan(app, client, tenant, kind="autoformation", start=(15, 0), end=(16, 30))
    hold(app, client, tenant, clock, auto, [amina], start=(15, 0), close=(16, 30))
    return {"held": held, "empty": empty, "auto": auto}


def download(app, client, tenant, fmt: str, url: str | None = None):  # noqa: ANN001, ANN201
    answer = client.get(
        url or f"/api/v1/orders/{tenant.order_id}/billing",
        query_string={"month": MONTH, "format": fmt},
        headers=bearer(app, tenant.finance),
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer


def french(text: str) -> Decimal | None:
    return Decimal(text.replace(",", ".")) if text else None


def test_csv_opens_in_french_excel_and_holds_the_jsons_numbers(app, client, tenant_a, monkeypatch):
    ids = a_month(app, client, tenant_a, monkeypatch)
    body = billing_of(app, client, tenant_a)
    answer = download(app, client, tenant_a, "csv")
    assert answer.mimetype == "text/csv"
    assert answer.is_streamed
    assert "attachment" in answer.headers["Content-Disposition"]
    raw = answer.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads UTF-8
    assert b"\r\n" in raw
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == HEADERS
    table = [dict(zip(HEADERS, row, strict=True)) for row in rows[1:]]
    (group,) = [r for r in table if r["Type de ligne"] == "total groupe"]
    (total,) = [r for r in table if r["Type de ligne"] == "total bon de commande"]
    (json_group,) = body["groups"]
    assert group["Heures groupe facturables"] == "2,33"  # 09:00–11:20, decimal comma
    assert french(group["Heures groupe facturables"]) == Decimal(str(json_group["billable_hours"]))
    assert french(group["Heures autoformation (non facturées)"]) == Decimal("1.50")
    assert french(total["Heures groupe facturables"]) == Decimal(
        str(body["totals"]["billable_hours"])
    )
    sessions = {r["Séance (identifiant)"]: r for r in table if r["Type de ligne"] == "séance"}
    assert sessions[ids["held"]]["Tenue"] == "oui"
    assert sessions[ids["held"]]["Intitulé de la séance"].startswith("'=")  # never a formula
    assert sessions[ids["empty"]]["Tenue"] == "non"
    assert sessions[ids["empty"]]["Motif de non-tenue"] == "aucun stagiaire n'a émargé"
    assert sessions[ids["auto"]]["Tenue"] == "sans objet"
    assert sessions[ids["held"]]["Début"] == "09:00"


def test_xlsx_holds_the_same_numbers_as_numbers(app, client, tenant_a, monkeypatch):
    ids = a_month(app, client, tenant_a, monkeypatch)
    body = billing_of(app, client, tenant_a)
    answer = download(app, client, tenant_a, "xlsx")
    assert answer.mimetype == exports.XLSX_MEDIA_TYPE
    book = openpyxl.load_workbook(io.BytesIO(answer.get_data()), read_only=True)
    sheet = book["Facturation"]
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0] == HEADERS
    table = [dict(zip(HEADERS, row, strict=True)) for row in rows[1:]]
    (group,) = [r for r in table if r["Type de ligne"] == "total groupe"]
    (json_group,) = body["groups"]
    assert group["Heures groupe facturables"] == json_group["billable_hours"] == 2.33
    assert group["Heures autoformation (non facturées)"] == json_group["autoformation_hours"]
    assert group["Heures synchrones prévues"] == json_group["planned_hours"]
    sessions = {r["Séance (identifiant)"]: r for r in table if r["Type de ligne"] == "séance"}
    assert sessions[ids["held"]]["Intitulé de la séance"] == '=HYPERLINK("x")'  # text, kept as is
    assert sessions[ids["held"]]["Nombre de participants"] == 2
    book.close()


def test_the_csv_and_xlsx_tables_hold_the_same_rows(app, client, tenant_a, monkeypatch):
    a_month(app, client, tenant_a, monkeypatch)
    raw = download(app, client, tenant_a, "csv").get_data().decode("utf-8-sig")
    from_csv = list(csv.reader(io.StringIO(raw), delimiter=";"))
    book = openpyxl.load_workbook(io.BytesIO(download(app, client, tenant_a, "xlsx").get_data()))
    from_xlsx = [list(row) for row in book["Facturation"].iter_rows(values_only=True)]
    assert len(from_csv) == len(from_xlsx)
    for text_row, cell_row in zip(from_csv, from_xlsx, strict=True):
        for text, cell in zip(text_row, cell_row, strict=True):
            if isinstance(cell, int | float):
                assert french(text) == Decimal(str(cell)).quantize(french(text)), (text, cell)
            else:
                assert text.removeprefix("'") == (cell or "")


def test_the_region_wide_csv_ends_with_the_grand_total(app, client, tenant_a, region, monkeypatch):
    a_month(app, client, tenant_a, monkeypatch)
    answer = client.get(
        "/api/v1/billing",
        query_string={"month": MONTH, "format": "csv"},
        headers=bearer(app, region),
    )
    assert answer.status_code == 200
    rows = list(
        csv.reader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff")), delimiter=";")
    )
    assert rows[-1][0] == "total général"
    assert rows[-1][HEADERS.index("Heures groupe facturables")] == "2,33"


def test_csv_cells_are_written_for_french_excel():
    assert exports.csv_cell(Decimal("2.5")) == "2,50"
    assert exports.csv_cell(3) == "3"
    assert exports.csv_cell(None) == ""
    assert exports.csv_cell("+33 6") == "'+33 6"
    assert exports.csv_cell("@SUM(A1)") == "'@SUM(A1)"
    assert exports.csv_cell("Groupe A") == "Groupe A"
