"""The trainee's follow-up: the situation at exit, 3 and 6 months (R23) with the reminders of
what is due, and equipment lent against a deposit capped at 200 € (R24); API and pages."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

import compliance.followup_pages
import compliance.routes
from compliance import rules
from compliance.models import EquipmentLoan, Outcome
from core.extensions import db
from tests.conftest import api_error, bearer
from tests.page_support import staff_browser

ORDER_END_YEAR = date.today().year  # the test order ends on 30 November of this year


def today_is(monkeypatch: pytest.MonkeyPatch, day: date) -> None:
    moment = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    for module in (compliance.routes, compliance.followup_pages):
        monkeypatch.setattr(module, "utcnow", lambda: moment)


def outcome(client, app, tenant, status: int, at: str = "exit", **body):  # noqa: ANN001, ANN201
    answer = client.put(
        f"/api/v1/enrolments/{tenant.enrolment_id}/outcomes/{at}",
        json={"situation": "job_search", **body},
        headers=bearer(app, tenant.admin),
    )
    assert answer.status_code == status, answer.get_json()
    return answer.get_json()


@given(st.dates(date(2020, 1, 1), date(2030, 12, 31)), st.integers(0, 12))
def test_months_later_keep_the_day_or_take_the_months_last(day: date, months: int) -> None:
    later = rules.add_months(day, months)
    assert (later.year * 12 + later.month) - (day.year * 12 + day.month) == months
    assert later.day == day.day or (later.day < day.day and (later.replace(day=1) - later).days)


def test_r23_milestones_fall_due_and_are_reminded(app, client, tenant_a, monkeypatch):
    """The path ends with the order (30/11); exit is due then, 3 months on 28/02, 6 on 30/05."""
    exit_day = date(ORDER_END_YEAR, 11, 30)
    today_is(monkeypatch, date(ORDER_END_YEAR, 11, 29))
    h = bearer(app, tenant_a.admin)
    assert client.get("/api/v1/outcomes/due", headers=h).get_json()["items"] == []
    today_is(monkeypatch, exit_day)
    (due,) = client.get("/api/v1/outcomes/due", headers=h).get_json()["items"]
    assert (due["milestone"], due["due_on"]) == ("exit", exit_day.isoformat())
    error = api_error(
        client.put(
            f"/api/v1/enrolments/{tenant_a.enrolment_id}/outcomes/3m",
            json={"situation": "training"},
            headers=h,
        ),
        422,
        "outcome_not_due",
        "R23",
    )
    assert f"28/02/{ORDER_END_YEAR + 1}" in error["message"]
    outcome(client, app, tenant_a, 200)
    assert client.get("/api/v1/outcomes/due", headers=h).get_json()["items"] == []
    today_is(monkeypatch, date(ORDER_END_YEAR + 1, 6, 1))
    due = client.get("/api/v1/outcomes/due", headers=h).get_json()["items"]
    assert [d["milestone"] for d in due] == ["3m", "6m"]


def test_r23_employment_says_its_kind_and_a_correction_keeps_history(
    app, client, tenant_a, monkeypatch
):
    today_is(monkeypatch, date(ORDER_END_YEAR, 12, 1))
    h = bearer(app, tenant_a.admin)
    url = f"/api/v1/enrolments/{tenant_a.enrolment_id}/outcomes/exit"
    api_error(
        client.put(url, json={"situation": "employment"}, headers=h),
        400,
        "employment_kind_required",
    )
    assert db.session.query(Outcome).count() == 0
    first = outcome(client, app, tenant_a, 200)
    second = outcome(client, app, tenant_a, 200, situation="employment", employment_kind="cdi")
    assert second["id"] == first["id"]
    assert second["situation"] == "employment"
    assert [h["situation"] for h in second["history"]] == ["job_search"]


def test_r24_deposits_are_capped_at_200_euros_in_all(app, client, tenant_a):
    h = bearer(app, tenant_a.admin)
    url = f"/api/v1/trainees/{tenant_a.trainee.id}/equipment-loans"
    laptop = client.post(
        url,
        json={"item": "Ordinateur portable", "deposit_eur": "150", "lent_on": "2026-02-01"},
        headers=h,
    )
    assert laptop.status_code == 201, laptop.get_json()
    assert laptop.get_json()["deposit_eur"] == "150.00"
    dongle = {"item": "Clé 4G", "deposit_eur": "60", "lent_on": "2026-02-02"}
    error = api_error(client.post(url, json=dongle, headers=h), 422, "deposit_over_cap", "R24")
    assert "210" in error["message"]
    assert db.session.query(EquipmentLoan).count() == 1
    back = client.post(
        f"/api/v1/equipment-loans/{laptop.get_json()['id']}/return",
        json={"returned_on": "2026-03-01"},
        headers=h,
    )
    assert back.status_code == 200
    assert client.post(url, json=dongle, headers=h).status_code == 201
    again = client.post(
        f"/api/v1/equipment-loans/{laptop.get_json()['id']}/return",
        json={"returned_on": "2026-03-02"},
        headers=h,
    )
    api_error(again, 409, "already_returned")


def test_another_organisation_sees_nothing(app, client, tenant_a, tenant_b, monkeypatch):
    today_is(monkeypatch, date(ORDER_END_YEAR, 12, 1))
    outcome(client, app, tenant_a, 200)
    b_h = bearer(app, tenant_b.admin)
    api_error(client.get(f"/api/v1/enrolments/{tenant_a.enrolment_id}/outcomes", headers=b_h), 404)
    body = {"situation": "other"}
    api_error(
        client.put(
            f"/api/v1/enrolments/{tenant_a.enrolment_id}/outcomes/exit", json=body, headers=b_h
        ),
        404,
    )
    loan = {"item": "PC", "deposit_eur": "10", "lent_on": "2026-02-01"}
    api_error(
        client.post(
            f"/api/v1/trainees/{tenant_a.trainee.id}/equipment-loans", json=loan, headers=b_h
        ),
        404,
    )
    due = client.get("/api/v1/outcomes/due", headers=b_h).get_json()["items"]
    assert tenant_a.enrolment_id not in {d["enrolment_id"] for d in due}
    trainer = bearer(app, tenant_a.trainer)
    api_error(client.get("/api/v1/outcomes/due", headers=trainer), 403)


def test_the_follow_up_pages(app, client, tenant_a, region, monkeypatch):
    today_is(monkeypatch, date(ORDER_END_YEAR, 12, 1))
    browser = staff_browser(app, tenant_a.admin)
    due = browser.get("/suivi").get_data(as_text=True)
    assert "À la sortie" in due
    assert tenant_a.trainee.full_name in due
    trainee_page = browser.get(f"/stagiaires/{tenant_a.trainee.id}").get_data(as_text=True)
    assert "Suivi après la sortie et matériel prêté" in trainee_page
    page_url = f"/stagiaires/{tenant_a.trainee.id}/suivi"
    assert "Non renseignée." in browser.get(page_url).get_data(as_text=True)
    refused = browser.post(
        f"/parcours/{tenant_a.enrolment_id}/situation",
        data={"milestone": "exit", "situation": "employment", "employment_kind": ""},
    )
    assert refused.status_code == 400
    assert "Précisez la nature de l&#39;emploi" in refused.get_data(as_text=True)
    done = browser.post(
        f"/parcours/{tenant_a.enrolment_id}/situation",
        data={"milestone": "exit", "situation": "employment", "employment_kind": "interim"},
        follow_redirects=True,
    )
    text = done.get_data(as_text=True)
    assert "Situation à la sortie enregistrée." in text
    assert "En emploi</strong> · Intérim" in text
    over = browser.post(
        f"/stagiaires/{tenant_a.trainee.id}/materiel",
        data={"item": "Ordinateur", "deposit_eur": "250", "lent_on": "2026-02-01"},
    )
    assert over.status_code == 422
    assert "plafonné à 200 €" in over.get_data(as_text=True)
    lent = browser.post(
        f"/stagiaires/{tenant_a.trainee.id}/materiel",
        data={"item": "Ordinateur", "deposit_eur": "120,50", "lent_on": "2026-02-01"},
        follow_redirects=True,
    )
    assert "Prêt enregistré : Ordinateur." in lent.get_data(as_text=True)
    assert "Dépôts en cours : 120,50 €" in lent.get_data(as_text=True)
    loan = db.session.scalars(db.select(EquipmentLoan)).one()
    back = browser.post(
        f"/stagiaires/{tenant_a.trainee.id}/materiel/{loan.id}/retour",
        data={"returned_on": "2026-03-01"},
        follow_redirects=True,
    )
    assert "dépôt restitué" in back.get_data(as_text=True)
    region_page = staff_browser(app, region).get(page_url)
    assert region_page.status_code == 200
    assert "Enregistrer la situation" not in region_page.get_data(as_text=True)
