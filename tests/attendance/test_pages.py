"""Émargement pages as people see them: the expired QR, the phone named on the admin's
trainee page."""

from __future__ import annotations

import re

import pytest

from tests.attendance.support import DAY, Clock, at, count_rows, enrol, open_session, plan
from tests.attendance.support import qr_token as api_qr_token
from tests.conftest import bearer
from tests.page_support import install_clock, phone_browser, staff_browser


@pytest.fixture
def now(monkeypatch):
    """The time of the pages and of the API: 08:50 (Paris) on the test day."""
    return install_clock(monkeypatch, Clock(at(DAY, 8, 50)))


@pytest.fixture
def trainer(app, tenant_a):
    return staff_browser(app, tenant_a.trainer)


@pytest.fixture
def phone(app, tenant_a):
    return phone_browser(app, tenant_a.admin, tenant_a.trainee)


def text(answer) -> str:  # noqa: ANN001
    """The words of a page, without its tags and with single spaces."""
    html = answer.get_data(as_text=True)
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'")


def morning(app, client, tenant, now, **fields) -> str:  # noqa: ANN001
    """A 2-hour session, 09:00–11:00, opened at 09:00 by its trainer."""
    sid = plan(app, client, tenant, start=(9, 0), end=(11, 0), **fields)
    now.set(9, 0)
    open_session(client, bearer(app, tenant.trainer), sid)
    return sid


# The expired QR code


def test_an_expired_qr_says_what_to_do_once(app, client, tenant_a, now, phone):
    sid = morning(app, client, tenant_a, now)
    stale = api_qr_token(client, bearer(app, tenant_a.trainer), sid)
    now.advance(minutes=2)
    answer = phone.post("/emarger", data={"qr": stale, "action": "sign_in"})
    assert answer.status_code == 410
    page = text(answer).lower()
    assert page.count("scannez celui affiché maintenant") == 1
    assert "change toutes les 15 secondes" in page
    assert count_rows(sid, kind="sign_in") == 0


# The phone on the admin's trainee page


def test_the_admins_trainee_page_names_the_phone_not_its_user_agent(app, client, tenant_a):
    enrolled = enrol(app, client, tenant_a, "Léa")
    phone_browser(app, tenant_a.admin, enrolled.trainee)
    admin = staff_browser(app, tenant_a.admin)
    page = text(admin.get(f"/stagiaires/{enrolled.id}"))
    assert "Appareil : Android 14 · Chrome" in page
    assert "Mozilla" not in page
