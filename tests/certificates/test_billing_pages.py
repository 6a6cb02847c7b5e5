"""Finance's month page: totals, flags, the chart of held against planned hours, downloads."""

from __future__ import annotations

import csv
import io
import re

import pytest

from core.models import Role
from tests.attendance.support import DAY, Clock, at, tenant_learner
from tests.attendance.support import plan as plan_session
from tests.certificates.billing_support import MONTH, hold
from tests.conftest import make_tenant, make_user
from tests.page_support import install_clock, staff_browser


@pytest.fixture
def month_held(app, client, tenant_a, monkeypatch):
    """A tutorat held 09:00–11:00 and one not opened, in the test month."""
    clock = install_clock(monkeypatch, Clock(at(DAY, 8, 50)))
    held = plan_session(app, client, tenant_a, start=(9, 0), end=(12, 0))
    hold(app, client, tenant_a, clock, held, [tenant_learner(app, tenant_a)], close=(11, 0))
    plan_session(app, client, tenant_a, start=(14, 0), end=(15, 0))
    clock.set(18, 0)
    return clock


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.mark.parametrize("role", ["finance", "admin"])
def test_the_month_of_one_order_shows_totals_chart_and_downloads(app, tenant_a, month_held, role):
    browser = staff_browser(app, getattr(tenant_a, role))
    page = browser.get(f"/finance/mois?commande={tenant_a.order_id}&mois={MONTH}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    text = text_of(html)
    assert "Heures groupe facturables 2 h" in text
    assert "Heures synchrones prévues 4 h" in text
    assert "Séances synchrones non tenues 1" in text
    assert "non : séance non ouverte" in text
    assert 'class="fill held" style="display:block;width:50.0%"' in html
    assert 'class="fill planned" style="display:block;width:100.0%"' in html
    for link in re.findall(r'href="(/finance/[^"]+)"', html):
        answer = browser.get(link.replace("&amp;", "&"))
        assert answer.status_code == 200, link
    csv_link = re.search(r'href="(/finance/facturation\.csv[^"]+)"', html)[1].replace("&amp;", "&")
    rows = list(
        csv.reader(io.StringIO(browser.get(csv_link).get_data().decode("utf-8-sig")), delimiter=";")
    )
    assert rows[-1][0] == "total bon de commande"
    assert "Réalisation SIGMA FP (CSV)" in text


def test_the_region_sees_every_order_of_the_month(app, client, tenant_a, month_held, region):
    other = make_tenant(app, client, "Gamma")
    browser = staff_browser(app, region)
    html = browser.get(f"/finance/mois?mois={MONTH}").get_data(as_text=True)
    assert "Tous les bons de commande de la région" in html
    text = text_of(html)
    assert other.org.name in text
    assert tenant_a.org.name in text
    assert "Heures groupe facturables 2 h" in text
    assert "Facturation du mois" in html  # the menu names the page


def test_an_organisation_never_sees_anothers_order(app, client, tenant_a, tenant_b, month_held):
    browser = staff_browser(app, tenant_a.finance)
    html = browser.get(f"/finance/mois?mois={MONTH}").get_data(as_text=True)
    assert tenant_b.order_id not in html
    for url in (
        f"/finance/mois?commande={tenant_b.order_id}&mois={MONTH}",
        f"/finance/facturation.csv?commande={tenant_b.order_id}&mois={MONTH}",
        f"/finance/realisation.csv?commande={tenant_b.order_id}&mois={MONTH}",
    ):
        assert browser.get(url).status_code == 404, url


def test_trainers_are_refused(app, tenant_a):
    browser = staff_browser(app, tenant_a.trainer)
    assert browser.get("/finance/mois").status_code == 403
    assert browser.get("/finance/facturation.csv").status_code == 403
    assert 'href="/finance/mois"' not in browser.get("/", follow_redirects=True).get_data(
        as_text=True
    )


def test_a_month_badly_written_says_so_in_french(app, tenant_a):
    browser = staff_browser(app, tenant_a.finance)
    page = browser.get("/finance/mois?mois=mars")
    assert page.status_code == 400
    assert "Indiquez le mois au format AAAA-MM" in page.get_data(as_text=True)


def test_the_page_is_reached_from_the_menu(app, tenant_a):
    for user in (tenant_a.finance, tenant_a.admin, make_user(Role.REGION)):
        home = staff_browser(app, user).get("/", follow_redirects=True).get_data(as_text=True)
        assert 'href="/finance/mois"' in home


@pytest.mark.parametrize(
    "path", ["/finance/facturation.csv", "/finance/facturation.xlsx", "/finance/realisation.csv"]
)
def test_r11_r18_the_pages_downloads_take_the_parsed_month_never_the_raw_text(app, tenant_a, path):
    browser = staff_browser(app, tenant_a.finance)
    query = {"commande": tenant_a.order_id}
    named = browser.get(path, query_string=query | {"mois": f" {MONTH}\n"})
    assert named.status_code == 200
    assert named.get_data()  # the streamed file, read to its end
    assert named.headers["Content-Disposition"].endswith(f'-{MONTH}.{path.rsplit(".", 1)[1]}"')
    refused = browser.get(path, query_string=query | {"mois": f"{MONTH}\nx"})
    assert refused.status_code == 400
    assert "Indiquez le mois au format AAAA-MM" in refused.get_data(as_text=True)
