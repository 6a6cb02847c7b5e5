"""Finance's month page in a real browser (headless Chromium), on a 320 px phone."""

from __future__ import annotations

import os

import pytest

from tests.certificates.billing_support import MONTH
from tests.certificates.test_billing_pages import month_held  # noqa: F401 - a fixture
from tests.conftest import PASSWORD
from tests.test_browser import PHONE, browser, live_url, scroll_width  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser


def test_finance_chooses_an_order_and_a_month_on_a_320px_phone(request, tenant_a, tmp_path):
    request.getfixturevalue("month_held")
    chromium, url = request.getfixturevalue("browser"), request.getfixturevalue("live_url")
    page = chromium.new_page(viewport=PHONE, locale="fr-FR")
    page.goto(f"{url}/connexion")
    page.get_by_label("Adresse électronique").fill(tenant_a.finance.email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_role("link", name="Facturation du mois").click()
    page.get_by_role("heading", level=1).wait_for()
    page.get_by_label("Bon de commande", exact=True).select_option(tenant_a.order_id)
    page.get_by_label("Mois (AAAA-MM)").fill(MONTH)
    page.get_by_label("Mois (AAAA-MM)").press("Enter")
    page.get_by_role("link", name="Réalisation SIGMA FP (CSV)").wait_for()
    text = page.locator("main").inner_text()
    assert "Heures groupe facturables\n2 h" in text
    assert scroll_width(page) <= 320
    keep = os.environ.get("KEEP_SCREENSHOT") or str(tmp_path / "finance-320.png")
    page.screenshot(path=keep, full_page=True)
