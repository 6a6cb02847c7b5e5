"""Émargement pages as people see them: the live screen's close, opening times, the expired QR,
the phone named on the admin's trainee page."""

from __future__ import annotations

import re

import pytest

from core.extensions import socketio
from core.templating import french_date
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


# Closing from the trainer's page


def test_a_close_from_the_trainers_page_reaches_the_other_live_screens(
    app, client, tenant_a, now, trainer
):
    """A projector tab still showing the QR code is told, and reloads without it."""
    sid = morning(app, client, tenant_a, now)
    token = bearer(app, tenant_a.trainer)["Authorization"].split(" ", 1)[1]
    projector = socketio.test_client(
        app, namespace="/live", auth={"token": token}, flask_test_client=client
    )
    try:
        joined = projector.emit("join", {"session_id": sid}, namespace="/live", callback=True)
        assert joined["ok"] is True
        projector.get_received("/live")
        now.set(10, 0)
        closed = trainer.post(f"/seances/{sid}/action", data={"action": "close"})
        assert closed.status_code == 302
        received = projector.get_received("/live")
        assert [e["args"][0] for e in received if e["name"] == "closed"] == [{"session_id": sid}]
    finally:
        projector.disconnect("/live")
    page = text(trainer.get(f"/seances/{sid}/emargement"))
    assert "La séance est close." in page
    assert "QR code à scanner" not in page


# From when a session can be opened


def test_a_session_later_today_says_from_when_it_can_be_opened(app, client, tenant_a, now, trainer):
    sid = plan(app, client, tenant_a, start=(14, 0), end=(16, 0))
    now.set(9, 0)
    for url in (f"/seances/{sid}/emargement", f"/seances/{sid}"):
        page = text(trainer.get(url))
        assert f"L'émargement pourra être ouvert à partir du {french_date(DAY)} à 13:45" in page
        assert "15 minutes avant le début de la séance" in page
        assert "Ouvrir l'émargement" not in page
        assert "(ouvrir la séance)" not in page
    now.set(13, 45)
    page = text(trainer.get(f"/seances/{sid}/emargement"))
    assert "Ouvrir l'émargement" in page
    assert "pourra être ouvert" not in page
    opened = trainer.post(f"/seances/{sid}/action", data={"action": "open"}, follow_redirects=True)
    assert "La séance est ouverte" in text(opened)


def test_a_session_over_without_being_opened_says_it_no_longer_can(
    app, client, tenant_a, now, trainer
):
    sid = plan(app, client, tenant_a, start=(9, 0), end=(11, 0))
    now.set(11, 0)
    page = text(trainer.get(f"/seances/{sid}/emargement"))
    assert "son émargement ne peut plus être ouvert" in page
    assert "Ouvrir l'émargement" not in page


def test_the_day_is_named_when_the_session_is_another_day(app, client, tenant_a, now, trainer):
    later = DAY.replace(day=12)
    sid = plan(app, client, tenant_a, start=(9, 30), end=(11, 0), day=later)
    page = text(trainer.get(f"/seances/{sid}"))
    assert f"à partir du {french_date(later)} à 09:15" in page


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
