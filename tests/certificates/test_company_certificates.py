"""Company hours (R2) in the certificates and the realisation export (R18): only hours both
the trainee and the tutor signed (R7's principle) count; the PDFs state the database's hours;
billing (R11: synchronous sessions only) never counts them."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from certificates.models import Certificate
from core.extensions import db
from tests.attendance.company_support import company_state, trainee_sign, tutor_sign
from tests.certificates.certificate_support import MONTH, held_month, hours_text, ok, pdf_text
from tests.conftest import THIS_YEAR, bearer

SESSIONS_MINUTES = 210  # held_month: Amina's tutorat 120 min and autoformation 90 min


@pytest.fixture
def month(app, client, tenant_a, monkeypatch):
    return held_month(app, client, tenant_a, monkeypatch)


def company(app, client, month, monkeypatch, state: str):  # noqa: ANN001, ANN201
    return company_state(app, client, month.tenant, monkeypatch, state, clock=month.clock)


def database_company_minutes(client, found) -> int:  # noqa: ANN001
    """The company minutes both signed, as the API reads the database."""
    url = f"/api/v1/company-periods/{found.period_id}"
    period = ok(client.get(url, headers=found.admin_h), 200).get_json()
    return sum(line["minutes"] for line in period["lines"] if line["counted"])


def attendance_pdf(client, month) -> bytes:  # noqa: ANN001
    url = f"/api/v1/enrolments/{month.tenant.enrolment_id}/attendance-certificate.pdf?month={MONTH}"
    return ok(client.get(url, headers=month.admin_h), 200).data


def realisation_pdf(client, month) -> bytes:  # noqa: ANN001
    url = f"/api/v1/enrolments/{month.tenant.enrolment_id}/certificate.pdf"
    return ok(client.get(url, headers=month.admin_h), 200).data


def realisation_items(app, client, month, fmt: str = "json"):  # noqa: ANN001, ANN201
    answer = client.get(
        f"/api/v1/orders/{month.tenant.order_id}/realisation",
        query_string={"month": MONTH, "format": fmt},
        headers=bearer(app, month.tenant.finance),
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer


def test_the_attendance_certificate_states_the_signed_company_hours(
    app, client, month, monkeypatch
):
    found = company(app, client, month, monkeypatch, "both_signed")
    minutes = database_company_minutes(client, found)
    assert minutes == 14 * 60
    text = pdf_text(attendance_pdf(client, month))
    assert f"En entreprise {hours_text(minutes)}" in text
    assert f"Total {hours_text(SESSIONS_MINUTES + minutes)}" in text
    assert "heures signées par le stagiaire et son tuteur" in text
    assert f"02/03/{THIS_YEAR} 06/03/{THIS_YEAR} Menuiserie Durand {hours_text(minutes)}" in text


@pytest.mark.parametrize("state", ["pending", "trainee_signed", "tutor_signed"])
def test_hours_not_signed_by_both_are_on_no_certificate_r7(app, client, month, monkeypatch, state):
    found = company(app, client, month, monkeypatch, state)
    assert database_company_minutes(client, found) == 0
    text = pdf_text(attendance_pdf(client, month))
    assert "En entreprise 0 h" in text
    assert f"Total {hours_text(SESSIONS_MINUTES)}" in text
    assert "Menuiserie Durand" not in text
    realisation = pdf_text(realisation_pdf(client, month))
    assert f"pour une durée réalisée de {hours_text(SESSIONS_MINUTES)}" in realisation


def test_the_certificate_of_realisation_counts_the_company_hours(app, client, month, monkeypatch):
    found = company(app, client, month, monkeypatch, "both_signed")
    minutes = database_company_minutes(client, found)
    text = pdf_text(realisation_pdf(client, month))
    assert (
        f"pour une durée réalisée de {hours_text(SESSIONS_MINUTES + minutes)}, "
        f"dont {hours_text(SESSIONS_MINUTES)} de formation à distance" in text
    )
    assert f"En entreprise {hours_text(minutes)}" in text
    assert f"qui s'est déroulée du 02/03/{THIS_YEAR}" in text  # the company's first day
    (certificate,) = db.session.query(Certificate).all()
    assert certificate.minutes == SESSIONS_MINUTES + minutes


def test_a_tutor_signature_since_supersedes_the_certificate(app, client, month, monkeypatch):
    found = company(app, client, month, monkeypatch, "trainee_signed")
    first = realisation_pdf(client, month)
    tutor_sign(client, found)
    second = realisation_pdf(client, month)
    assert second != first
    old, new = sorted(db.session.query(Certificate).all(), key=lambda c: c.generation)
    assert old.superseded_by_id == new.id
    assert new.minutes == SESSIONS_MINUTES + 14 * 60
    assert any(place[0] == found.period_id for place in new.entries)  # chained in the period
    answer = ok(client.get("/api/v1/ledger/verify", headers=month.admin_h), 200).get_json()
    assert answer["ok"], answer
    again = realisation_pdf(client, month)  # same facts: the same file, recorded once
    assert again == second
    assert db.session.query(Certificate).count() == 2


def test_the_realisation_export_counts_company_hours_signed_by_both_r18(
    app, client, month, monkeypatch
):
    found = company(app, client, month, monkeypatch, "trainee_signed")
    items = {i["trainee_id"]: i for i in realisation_items(app, client, month).get_json()["items"]}
    assert items[month.amina.id]["company_minutes"] == 0
    tutor_sign(client, found)
    trainee_sign(client, found, status=200)  # signed twice: counted once
    body = realisation_items(app, client, month).get_json()
    items = {i["trainee_id"]: i for i in body["items"]}
    amina = items[month.amina.id]
    assert amina["company_minutes"] == database_company_minutes(client, found) == 840
    assert amina["total_minutes"] == SESSIONS_MINUTES + 840
    assert items[month.bruno.id]["company_minutes"] == 0
    assert body["totals"]["company_minutes"] == 840
    raw = realisation_items(app, client, month, "csv").get_data()
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    table = {
        row[rows[0].index("Identifiant stagiaire")]: dict(zip(rows[0], row, strict=True))
        for row in rows[1:]
    }
    assert Decimal(table[month.amina.id]["Heures entreprise"].replace(",", ".")) == Decimal("14")
    april = client.get(
        f"/api/v1/orders/{month.tenant.order_id}/realisation",
        query_string={"month": f"{THIS_YEAR}-04"},
        headers=bearer(app, month.tenant.finance),
    ).get_json()
    assert all(i["company_minutes"] == 0 for i in april["items"])  # the hours' month only


def test_company_hours_are_never_billed_r11(app, client, month, monkeypatch):
    url = f"/api/v1/orders/{month.tenant.order_id}/billing?month={MONTH}&format=json"
    h = bearer(app, month.tenant.finance)
    before = ok(client.get(url, headers=h), 200).get_json()
    company(app, client, month, monkeypatch, "both_signed")
    after = ok(client.get(url, headers=h), 200).get_json()
    assert after == before


def test_a_certificate_with_company_hours_verifies_as_genuine_r17(app, client, month, monkeypatch):
    """Its entries sit in the sessions' chains and in the company period's: the public
    verification reads both (a period's chain is no session's)."""
    found = company(app, client, month, monkeypatch, "both_signed")
    realisation_pdf(client, month)
    (certificate,) = db.session.query(Certificate).all()
    assert any(place[0] == found.period_id for place in certificate.entries)
    answer = ok(client.get(f"/api/v1/certificates/{certificate.short_id}/verify"), 200).get_json()
    assert answer["valid"] is True
    assert answer["superseded"] is False
    assert answer["outdated"] is False
