"""In a real browser (headless Chromium, 320 px, keyboard): the organisation's referent finds
a site with a free seat for a trainee's session and books it (issue 10, "Done when")."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.extensions import db
from sites.models import Booking
from tests.conftest import PASSWORD
from tests.sites.support import DAY, create_site, make_org_with_trainees, plan_session
from tests.test_browser import PHONE, scroll_width

pytestmark = pytest.mark.browser


def test_the_referent_books_a_seat_from_the_availability_search(
    browser, live_url, app, client, region
):
    site = create_site(app, client, region, name="Espace e-formation de Figeac")
    create_site(app, client, region, name="Cyber-base de Muret", department="31", city="Muret")
    org = make_org_with_trainees(app, client, 2)
    session = plan_session(app, client, org)
    trainee = org.trainees[1]

    page = browser.new_page(viewport=PHONE, locale="fr-FR")
    page.goto(f"{live_url}/connexion")
    page.get_by_label("Adresse électronique").fill(org.admin.email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_role("link", name="Postes en site").click()
    page.get_by_role("link", name="Trouver un poste").click()
    page.get_by_label("Département").select_option("46")
    page.get_by_label("Date").fill(DAY.isoformat())
    page.get_by_role("button", name="Chercher").click()

    card = page.locator(".card", has_text="Espace e-formation de Figeac")
    assert "2 postes libres sur 2" in card.inner_text()
    assert page.locator(".card", has_text="Muret").count() == 0  # another department
    card.get_by_label("Stagiaire").select_option(label=f"{trainee.last_name} {trainee.first_name}")
    card.get_by_role("button", name="Réserver un poste").focus()
    page.keyboard.press("Enter")

    page.get_by_text("Poste réservé au site Espace e-formation de Figeac").wait_for()
    booked = page.locator(".card", has_text=trainee.first_name)
    assert "Confirmée" in booked.inner_text()
    assert scroll_width(page) <= 320
    stored = db.session.scalars(select(Booking)).one()
    assert (stored.site_id, stored.trainee_id, stored.session_id, stored.status) == (
        site["id"],
        trainee.id,
        session["id"],
        "confirmed",
    )
