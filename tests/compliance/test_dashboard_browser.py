"""A Région officer reads a dashboard in a real browser (headless Chromium): keyboard only,
on a 320 px phone, for one organisation and a month."""

from __future__ import annotations

import os

import pytest

from tests.certificates.billing_support import MONTH
from tests.certificates.test_billing_pages import month_held  # noqa: F401 - a fixture
from tests.conftest import PASSWORD
from tests.test_browser import PHONE, browser, live_url, scroll_width  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser


def test_a_region_officer_reads_an_organisations_month(request, tenant_a, region, tmp_path):
    request.getfixturevalue("month_held")
    chromium, url = request.getfixturevalue("browser"), request.getfixturevalue("live_url")
    page = chromium.new_page(viewport=PHONE, locale="fr-FR")
    page.goto(f"{url}/connexion")
    page.get_by_label("Adresse électronique").fill(region.email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_role("link", name="Tableau de bord").click()
    page.get_by_role("heading", level=1).wait_for()
    page.get_by_role("textbox", name="Période").fill(MONTH)
    page.get_by_label("Organisme", exact=True).select_option(tenant_a.org.id)
    page.get_by_label("Organisme", exact=True).focus()
    page.keyboard.press("Tab")  # to « Afficher »
    page.keyboard.press("Enter")
    page.wait_for_url(f"**organisme={tenant_a.org.id}**")
    text = page.locator("main").inner_text()
    assert "Heures groupe facturables (R11)\n2 h" in text
    assert "Heures réalisées\n2 h" in text
    assert tenant_a.org.name in text
    assert scroll_width(page) <= 320
    keep = os.environ.get("KEEP_SCREENSHOT") or str(tmp_path / "dashboard-320.png")
    page.screenshot(path=keep, full_page=True)
