"""Company periods (R2) in a real browser (headless Chromium) at 320 px, with the keyboard:
the trainee signs on the phone, the tutor signs with their code, the admin's period page."""

from __future__ import annotations

import pytest

from tests.attendance.company_support import company_state
from tests.attendance.support import DAY, Clock, at
from tests.conftest import bearer
from tests.page_support import install_clock
from tests.test_browser import PHONE, browser, live_url, scroll_width, sign_in_page

pytestmark = pytest.mark.browser
__all__ = ["browser", "live_url"]  # the fixtures of the browser tests


def test_trainee_then_tutor_sign_at_320px_with_the_keyboard(
    browser, live_url, app, client, tenant_a, monkeypatch
):
    clock = install_clock(monkeypatch, Clock(at(DAY, 17)))
    found = company_state(app, client, tenant_a, monkeypatch, "pending", clock=clock)

    phone = browser.new_page(viewport=PHONE, locale="fr-FR", is_mobile=True)
    invitation = client.post(
        f"/api/v1/trainees/{tenant_a.trainee.id}/invitations", headers=bearer(app, tenant_a.admin)
    ).get_json()
    phone.goto(f"{live_url}/invitation#{invitation['code']}")
    phone.get_by_role("button", name="Activer").click()
    phone.get_by_role("heading", name="Mes séances").wait_for()
    phone.get_by_role("link", name="Mes heures en entreprise").click()
    phone.get_by_role("heading", name="Mes heures en entreprise").wait_for()
    assert scroll_width(phone) <= 320
    phone.get_by_role("button", name="Je signe ces heures").focus()
    phone.keyboard.press("Enter")
    phone.get_by_text("Vous avez signé vos heures").wait_for()
    assert "en attente du tuteur" in phone.locator(f"#h-{found.hours_id}").inner_text()
    assert scroll_width(phone) <= 320

    tutor = browser.new_page(viewport=PHONE, locale="fr-FR", is_mobile=True)
    tutor.goto(f"{live_url}/tuteur")
    assert tutor.evaluate("document.activeElement.id") == "code"  # ready to type
    tutor.keyboard.type(found.tutor_code or "")
    tutor.keyboard.press("Enter")
    tutor.get_by_role("button", name="Je certifie ces heures").wait_for()
    assert "Menuiserie Durand" in tutor.content()
    assert scroll_width(tutor) <= 320
    tutor.keyboard.press("Tab")  # from the list of hours (focused) to its one button
    assert tutor.evaluate("document.activeElement.textContent") == "Je certifie ces heures"
    tutor.keyboard.press("Enter")
    tutor.get_by_text("Merci : vous avez signé ces heures.").wait_for()
    assert "Comptées" in tutor.locator(f"#h-{found.hours_id}").inner_text()
    assert scroll_width(tutor) <= 320

    admin = sign_in_page(browser, live_url, tenant_a.admin, viewport=PHONE)
    admin.goto(f"{live_url}/entreprise/{found.period_id}")
    assert admin.locator("#comptees").inner_text() == "14 h"
    assert scroll_width(admin) <= 320
