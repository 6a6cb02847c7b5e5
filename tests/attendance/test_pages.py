"""Émargement pages as people see them: the phone named on the admin's trainee page."""

from __future__ import annotations

import re

import pytest

from tests.attendance.support import DAY, Clock, at, enrol
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


# The phone on the admin's trainee page


def test_the_admins_trainee_page_names_the_phone_not_its_user_agent(app, client, tenant_a):
    enrolled = enrol(app, client, tenant_a, "Léa")
    phone_browser(app, tenant_a.admin, enrolled.trainee)
    admin = staff_browser(app, tenant_a.admin)
    page = text(admin.get(f"/stagiaires/{enrolled.id}"))
    assert "Appareil : Android 14 · Chrome" in page
    assert "Mozilla" not in page
