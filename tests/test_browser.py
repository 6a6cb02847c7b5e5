"""In a real browser (headless Chromium): staff sign in, plan a session, and pages fit 320 px."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from werkzeug.serving import make_server

from core.extensions import db
from tests.conftest import ORDER_START, PASSWORD
from training.models import Order

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PHONE = {"width": 320, "height": 640}

pytestmark = pytest.mark.browser


@pytest.fixture
def live_url(app) -> Iterator[str]:
    """The app (on the test database) served over HTTP from a thread, on a free port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    server.server_close()


@pytest.fixture
def browser() -> Iterator[object]:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is required in CI for the browser tests.")
        pytest.skip(f"{CHROMIUM} is not installed on this machine.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def scroll_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_login_page_fits_a_320px_phone(browser, live_url):
    page = browser.new_page(viewport=PHONE, locale="fr-FR")
    page.goto(f"{live_url}/connexion")
    assert page.get_by_role("heading", level=1).inner_text() == "Connexion du personnel"
    assert scroll_width(page) <= 320
    assert page.evaluate("document.activeElement.id") == "email"  # ready to type


def test_admin_signs_in_with_the_keyboard_and_plans_a_session(
    browser, live_url, tenant_a, tmp_path
):
    number = db.session.get(Order, tenant_a.order_id).number
    page = browser.new_page(viewport=PHONE, locale="fr-FR")
    page.goto(f"{live_url}/connexion")
    page.get_by_label("Adresse électronique").fill(tenant_a.admin.email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Bons de commande").wait_for()

    page.get_by_role("link", name=number).click()
    page.get_by_role("link", name="Groupe A").click()
    page.keyboard.press("Tab")  # the first stop skips the header
    assert page.evaluate("document.activeElement.textContent") == "Aller au contenu"
    page.get_by_role("link", name="Planifier une séance").click()
    page.get_by_label("Type de séance").select_option("tutorat")
    page.get_by_label("Intitulé").fill("Entretien d'embauche")
    page.get_by_label("Date").fill((ORDER_START + timedelta(days=10)).isoformat())
    page.get_by_label("Début").fill("14:00")
    page.get_by_label("Fin").fill("16:30")
    page.get_by_role("button", name="Enregistrer").click()

    page.get_by_text("Séance « Entretien d'embauche » planifiée.").wait_for()
    card = page.locator(".card", has_text="Entretien d'embauche")
    assert "14:00" in card.inner_text()
    assert "16:30" in card.inner_text()
    assert scroll_width(page) <= 320
    page.screenshot(path=str(tmp_path / "group-320.png"), full_page=True)
