"""Émargement pages as people see them: the live screen's close, opening times, the expired QR,
early departures (R7), the phone named on the admin's trainee page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from attendance.models import LedgerSeal
from core.extensions import db, socketio
from core.templating import french_date
from sites.models import Site
from tests.attendance.support import DAY, Clock, at, count_rows, enrol, open_session, plan
from tests.attendance.support import qr_token as api_qr_token
from tests.conftest import bearer, make_user
from tests.page_support import eventually, install_clock, phone_browser, staff_browser


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
    """A 2-hour session, 09:00–11:00 unless said, opened by its trainer at its start."""
    fields = {"start": (9, 0), "end": (11, 0), **fields}
    sid = plan(app, client, tenant, **fields)
    now.set(*fields["start"])
    open_session(client, bearer(app, tenant.trainer), sid)
    return sid


def scan(app, client, tenant, phone, sid, action, **form):  # noqa: ANN001, ANN201
    """The phone sends the QR code shown now on the trainer's screen."""
    token = api_qr_token(client, bearer(app, tenant.trainer), sid)
    return phone.post("/emarger", data={"qr": token, "action": action, **form})


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


def test_a_close_from_the_trainers_page_is_sealed_soon_after(
    app, client, tenant_a, now, trainer, monkeypatch
):
    """As a close through the API: the ledger's seal covers the session shortly after."""
    monkeypatch.setitem(app.config, "LEDGER_SEAL_DELAY_S", 0.05)
    export = Path(app.config["LEDGER_SEAL_DIR"]) / "seals.jsonl"
    sid = morning(app, client, tenant_a, now)
    now.set(10, 0)
    try:
        assert trainer.post(f"/seances/{sid}/action", data={"action": "close"}).status_code == 302
        stored = eventually(lambda: db.session.scalar(select(LedgerSeal)))
        assert stored is not None, "no seal after the close"
        assert sid in [s[0] for s in stored.sessions]  # with every chain changed since
    finally:
        export.unlink(missing_ok=True)


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
    answer = phone.post("/emarger", data={"qr": stale, "action": "sign_in"})  # read 2 min ago
    assert answer.status_code == 410
    page = text(answer).lower()
    assert page.count("scannez celui affiché maintenant") == 1
    assert "change toutes les 15 secondes" in page
    assert count_rows(sid, kind="sign_in") == 0


# Early departures (R7: the time after a departure is not counted)


def test_a_departure_41_s_into_a_2_hour_session_asks_first_and_shows_the_time_counted(
    app, client, tenant_a, now, phone
):
    sid = morning(app, client, tenant_a, now)
    assert scan(app, client, tenant_a, phone, sid, "sign_in").status_code == 200
    now.set(9, 0, 41)
    asked = scan(app, client, tenant_a, phone, sid, "sign_out")
    page = text(asked)
    assert asked.status_code == 200
    assert "Vous partez avant la fin de la séance" in page
    assert "arrivée à 09:00, fin prévue à 11:00" in page
    assert "votre temps compté sera de moins d'une minute sur 2 h prévues" in page
    assert "Confirmer mon départ" in page
    assert asked.headers["Cache-Control"] == "no-store"
    assert count_rows(sid, kind="sign_out") == 0  # nothing recorded before the confirmation
    confirmed = text(scan(app, client, tenant_a, phone, sid, "sign_out", confirm="1"))
    assert "Départ enregistré" in confirmed
    assert "Départ à 09:00" in confirmed
    assert count_rows(sid, kind="sign_out") == 1


@pytest.mark.parametrize(
    ("kind", "hours", "arrive", "leave", "said"),
    [
        ("autoformation", (9, 11), (9, 10), (10, 35), "1 h 25 sur 2 h prévues. Le temps"),
        ("tutorat", (9, 17), (14, 0), (15, 30), "1 h 30 sur 4 h prévues cet après-midi"),
    ],
)
def test_an_early_departure_counts_the_time_from_the_arrival_in_this_half_day(
    app, client, tenant_a, now, phone, kind, hours, arrive, leave, said
):
    sid = morning(app, client, tenant_a, now, kind=kind, start=(hours[0], 0), end=(hours[1], 0))
    now.set(*arrive)
    scan(app, client, tenant_a, phone, sid, "sign_in")
    now.set(*leave)
    page = text(scan(app, client, tenant_a, phone, sid, "sign_out"))
    assert said in page
    assert ("Règle R7" in page) is (kind == "autoformation")  # R7: presence must be signed
    assert count_rows(sid, kind="sign_out") == 0


def test_a_departure_at_the_end_is_recorded_without_a_question(app, client, tenant_a, now, phone):
    sid = morning(app, client, tenant_a, now)
    scan(app, client, tenant_a, phone, sid, "sign_in")
    now.set(11, 2)
    page = text(scan(app, client, tenant_a, phone, sid, "sign_out"))
    assert "Départ enregistré" in page
    assert "avant la fin" not in page
    assert count_rows(sid, kind="sign_out") == 1


def test_an_early_departure_with_a_code_asks_first_at_a_site_kiosk(app, client, db, tenant_a, now):
    site = Site(name="Site de Figeac", department="46", city="Figeac", seats=8)
    db.session.add(site)
    db.session.commit()
    kiosk = staff_browser(app, make_user("site_staff", site_id=site.id))
    sid = morning(app, client, tenant_a, now, site_id=site.id)
    issued = client.post(
        f"/api/v1/sessions/{sid}/sign-in-codes",
        json={"trainee_ids": [tenant_a.trainee.id]},
        headers=bearer(app, tenant_a.trainer),
    )
    code = issued.get_json()[0]["code"]
    assert "Présence enregistrée" in text(kiosk.post("/code", data={"code": code}))
    now.set(9, 30)
    asked = text(kiosk.post("/code", data={"code": code, "action": "sign_out"}))
    assert "votre temps compté sera de 30 min sur 2 h prévues" in asked
    assert count_rows(sid, kind="sign_out") == 0
    confirmed = kiosk.post("/code", data={"code": code, "action": "sign_out", "confirm": "1"})
    assert "Départ enregistré" in text(confirmed)
    assert count_rows(sid, kind="sign_out") == 1


def test_a_refused_departure_is_said_at_once_not_after_a_question(
    app, client, tenant_a, now, phone
):
    """No arrival: the refusal comes at the first step (the use case ran, then rolled back)."""
    sid = morning(app, client, tenant_a, now)
    answer = scan(app, client, tenant_a, phone, sid, "sign_out")
    assert answer.status_code == 409
    assert "Émargez d'abord votre arrivée." in text(answer)


# The phone on the admin's trainee page


def test_the_admins_trainee_page_names_the_phone_not_its_user_agent(app, client, tenant_a):
    enrolled = enrol(app, client, tenant_a, "Léa")
    phone_browser(app, tenant_a.admin, enrolled.trainee)
    admin = staff_browser(app, tenant_a.admin)
    page = text(admin.get(f"/stagiaires/{enrolled.id}"))
    assert "Appareil : Android 14 · Chrome" in page
    assert "Mozilla" not in page
