"""The company period pages (R2), for every role that reaches them and in every state of a
period's hours: planned, waiting for signatures, signed by the trainee, by the tutor, by both.
The organisation records a period and its hours and issues the tutor's code; the trainee
signs on their phone; the tutor signs with the code, without an account."""

from __future__ import annotations

import re

import pytest

from attendance.models import CompanyHours, CompanyPeriod
from core.extensions import db
from tests.attendance.company_support import PERIOD, company_state
from tests.conftest import THIS_YEAR
from tests.page_support import phone_browser, staff_browser
from tests.test_page_walk import build_world


def plain(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the form carries a CSRF token"
    return found.group(1)


@pytest.fixture
def world(app, client, monkeypatch):  # noqa: ANN201
    return build_world(app, client, monkeypatch)


def test_the_trainees_menu_leads_to_their_company_hours(app, client, monkeypatch, world):
    company_state(app, client, world.tenant, monkeypatch, "pending", clock=world.clock)
    phone = phone_browser(app, world.tenant.admin, world.tenant.trainee)
    home = phone.get("/", follow_redirects=True).get_data(as_text=True)
    assert 'href="/mes-heures-entreprise"' in home
    assert "Mes heures en entreprise" in home


def test_the_admin_records_a_period_and_its_hours_from_the_pages(app, client, monkeypatch, world):
    browser = staff_browser(app, world.users["org_admin"])
    url = f"/parcours/{world.tenant.enrolment_id}/entreprise"
    page = browser.get(url).get_data(as_text=True)
    assert "Enregistrer une période en entreprise" in page
    too_much = PERIOD | {"planned_hours": "75", "csrf_token": csrf(page)}
    refused = browser.post(url, data=too_much)
    assert refused.status_code == 400  # the form's own range (70 h at most)
    assert "Vérifiez les champs signalés." in refused.get_data(as_text=True)
    form = PERIOD | {"planned_hours": "70,5", "csrf_token": csrf(page)}
    assert browser.post(url, data=form).status_code == 400
    form |= {"planned_hours": "35"}
    done = browser.post(url, data=form)
    assert done.status_code == 302
    period = db.session.query(CompanyPeriod).one()
    assert done.headers["Location"].endswith(f"/entreprise/{period.id}")
    page = browser.get(f"/entreprise/{period.id}").get_data(as_text=True)
    assert "Période chez Menuiserie Durand enregistrée." in page
    hours = {
        "first_day": f"{THIS_YEAR}-03-02",
        "last_day": f"{THIS_YEAR}-03-06",
        "hours": "40",
        "csrf_token": csrf(page),
    }
    over = browser.post(f"/entreprise/{period.id}/heures", data=hours)
    assert over.status_code == 422
    text = plain(over.get_data(as_text=True))
    assert "dépasseraient les 35 h prévues" in text
    assert "Règle R2 du cahier des charges." in text
    assert db.session.query(CompanyHours).count() == 0
    hours["hours"] = "14"
    assert browser.post(f"/entreprise/{period.id}/heures", data=hours).status_code == 302
    page = browser.get(f"/entreprise/{period.id}").get_data(as_text=True)
    assert "elles attendent la signature du stagiaire et du tuteur" in page
    issued = browser.post(f"/entreprise/{period.id}/code-tuteur", data={"csrf_token": csrf(page)})
    assert issued.status_code == 200
    assert issued.headers["Cache-Control"] == "no-store"
    code = re.search(r'<strong class="code">([A-Z0-9-]+)</strong>', issued.get_data(as_text=True))
    assert code, "the code is shown once"
    again = browser.get(f"/entreprise/{period.id}").get_data(as_text=True)
    assert code.group(1) not in again


def test_r2_refusal_of_a_second_period_is_shown_with_its_rule(app, client, monkeypatch, world):
    company_state(app, client, world.tenant, monkeypatch, "planned", clock=world.clock)
    browser = staff_browser(app, world.users["org_admin"])
    url = f"/parcours/{world.tenant.enrolment_id}/entreprise"
    page = browser.get(url).get_data(as_text=True)
    april = PERIOD | {
        "start_date": f"{THIS_YEAR}-04-01",
        "end_date": f"{THIS_YEAR}-04-30",
        "planned_hours": "36",
        "csrf_token": csrf(page),
    }
    refused = browser.post(url, data=april)
    assert refused.status_code == 422
    text = plain(refused.get_data(as_text=True))
    assert "La période en entreprise est limitée à 70 h" in text
    assert "Règle R2 du cahier des charges." in text
    assert db.session.query(CompanyPeriod).count() == 1


def test_the_trainee_signs_on_the_page_once(app, client, monkeypatch, world):
    found = company_state(app, client, world.tenant, monkeypatch, "pending", clock=world.clock)
    phone = phone_browser(app, world.tenant.admin, world.tenant.trainee)
    page = phone.get("/mes-heures-entreprise").get_data(as_text=True)
    url = f"/mes-heures-entreprise/{found.hours_id}/signer"
    signed = phone.post(url, data={"csrf_token": csrf(page)}, follow_redirects=True)
    assert "Vous avez signé vos heures du 02/03" in signed.get_data(as_text=True)
    assert "en attente du tuteur" in plain(signed.get_data(as_text=True))
    again = phone.post(url, data={"csrf_token": csrf(page)}, follow_redirects=True)
    assert "étaient déjà signées" in again.get_data(as_text=True)
    line = db.session.get(CompanyHours, found.hours_id)
    db.session.refresh(line)
    assert line.trainee_signed_at is not None


def test_the_tutor_signs_with_the_code_without_an_account(app, client, monkeypatch, world):
    found = company_state(
        app, client, world.tenant, monkeypatch, "trainee_signed", clock=world.clock
    )
    tutor = app.test_client()
    page = tutor.get("/tuteur").get_data(as_text=True)
    wrong = tutor.post("/tuteur", data={"code": "AAAAA-BBBBB", "csrf_token": csrf(page)})
    assert wrong.status_code == 400
    assert "Ce code est inconnu. Vérifiez-le." in wrong.get_data(as_text=True)
    shown = tutor.post("/tuteur", data={"code": found.tutor_code, "csrf_token": csrf(page)})
    assert shown.status_code == 200
    assert shown.headers["Cache-Control"] == "no-store"  # the page holds the code
    text = plain(shown.get_data(as_text=True))
    assert "Menuiserie Durand" in text
    assert "14 h du lundi 2 mars" in text
    assert world.tenant.trainee.last_name not in text  # initials only
    assert db.session.get(CompanyHours, found.hours_id).tutor_signed_at is None  # shown, not signed
    form = {
        "code": found.tutor_code,
        "step": "sign",
        "hours_id": found.hours_id,
        "csrf_token": csrf(shown.get_data(as_text=True)),
    }
    signed = tutor.post("/tuteur", data=form)
    assert signed.status_code == 200
    text = plain(signed.get_data(as_text=True))
    assert "Merci : vous avez signé ces heures." in text
    assert "Comptées" in text
    again = tutor.post("/tuteur", data=form)
    assert "Ces heures étaient déjà signées." in again.get_data(as_text=True)


def test_the_admin_withdraws_hours_declared_by_mistake(app, client, monkeypatch, world):
    found = company_state(app, client, world.tenant, monkeypatch, "pending", clock=world.clock)
    browser = staff_browser(app, world.users["org_admin"])
    page = browser.get(f"/entreprise/{found.period_id}").get_data(as_text=True)
    assert "Retirer ces heures (déclarées par erreur)" in page
    done = browser.post(
        f"/entreprise/heures/{found.hours_id}/retirer",
        data={"csrf_token": csrf(page)},
        follow_redirects=True,
    )
    text = plain(done.get_data(as_text=True))
    assert "retirées." in text
    assert "Retirées par l'organisme le" in text
    assert "Retirer ces heures" not in text
    phone = phone_browser(app, world.tenant.admin, world.tenant.trainee)
    mine = plain(phone.get("/mes-heures-entreprise").get_data(as_text=True))
    assert "Retirées par l'organisme" in mine
    assert "Je signe ces heures" not in mine
